// k6/execution for the k6 shim (tests only): exec.scenario, exec.vu, exec.instance, exec.test as k6
// v1.x documents them. Scenario and VU information is VU-context only, as in k6; a property k6 does
// not have throws here (k6 would give undefined), so that a misspelt one is caught.
// https://grafana.com/docs/k6/latest/javascript-api/k6-execution/
import { TestAbort, state } from '../state.mjs';

/** An object of getters that throws on any other property. */
const strict = (what, getters) =>
  new Proxy(getters, {
    get(target, key) {
      if (typeof key === 'symbol' || key === 'toJSON') return undefined;
      if (!Object.hasOwn(target, key)) throw new Error(`k6 shim: ${what}.${key} is not part of k6/execution`);
      return target[key]();
    },
  });

const inVU = (what) => {
  if (state.initContext || !state.vu) {
    throw new Error(`getting ${what} information outside of the VU context is not supported`);
  }
  return state.vu;
};

const inScenario = () => {
  const vu = inVU('scenario');
  if (!vu.scenario) throw new Error('getting scenario information outside of a scenario is not supported');
  return vu.scenario;
};

const scenario = strict('exec.scenario', {
  name: () => inScenario().name,
  executor: () => inScenario().executor,
  startTime: () => inScenario().startTime,
  progress: () => inScenario().progress ?? 0,
  iterationInInstance: () => inScenario().iterationInInstance,
  iterationInTest: () => inScenario().iterationInTest,
});

const vu = strict('exec.vu', {
  idInInstance: () => inVU('VU').id,
  idInTest: () => inVU('VU').id,
  iterationInInstance: () => inVU('VU').iterationInInstance,
  iterationInScenario: () => inVU('VU').iterationInScenario,
  tags: () => ({}),
  metrics: () => ({ tags: {}, metadata: {} }),
});

const instance = strict('exec.instance', {
  iterationsCompleted: () => state.iterationsCompleted ?? 0,
  iterationsInterrupted: () => 0,
  vusActive: () => 1,
  vusInitialized: () => state.vusInitialized ?? 0,
  currentTestRunDuration: () => 0,
});

const test = strict('exec.test', {
  abort: () => (input) => {
    if (state.initContext) throw new Error('exec.test.abort() is not available in the init context');
    throw new TestAbort(input === undefined ? 'test aborted' : String(input));
  },
  options: () => state.options,
});

export { scenario, vu, instance, test };
export default { scenario, vu, instance, test };

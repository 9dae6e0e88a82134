// The k6 shim's runtime state, shared by its modules and the runner (run.mjs): which VU runs, whether
// it is in the init context, and what the run recorded (checks, requests, custom metric samples).
// Tests only: it lets the unchanged scripts of loadtest/k6 run under Node (see run.mjs).

export const state = {
  /** True while a VU's init code runs (module evaluation): open() and SharedArray only then. */
  initContext: true,
  /**
   * The running VU: { id, iterationInInstance, iterationInScenario, scenario } where scenario is
   * { name, executor, startTime, iterationInTest, iterationInInstance } or null (setup/teardown).
   */
  vu: null,
  /** Per VU id: the response callback http.setResponseCallback set (undefined: k6's default). */
  responseCallbacks: new Map(),
  /** The group path of the running code ('' at the top), k6's `group` tag. */
  group: '',
  checks: [],
  requests: [],
  metricSamples: [],
  /** Custom metrics, name → type (Counter, Gauge, Rate, Trend), for the threshold checks. */
  customMetrics: new Map(),
  /** Seconds sleep() was asked for, in all (the shim sleeps a few ms at most). */
  sleptSeconds: 0,
};

/** Thrown by exec.test.abort(): ends the whole run, as in k6. */
export class TestAbort extends Error {
  constructor(message) {
    super(message);
    this.name = 'TestAbort';
  }
}

/** k6's error for VU-only APIs used in the init context. */
export const requireVUContext = (what) => {
  if (state.initContext) throw new Error(`${what} is not available in the init context (k6: VU code only)`);
};

/** k6's tags of the running code: the scenario's name and the group, as k6's system tags. */
export const currentTags = () => ({
  ...(state.vu?.scenario ? { scenario: state.vu.scenario.name } : {}),
  group: state.group,
});

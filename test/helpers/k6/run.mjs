// Runs one unchanged k6 script of loadtest/k6 under Node, through the k6 shim (tests only):
//
//   node --import ./register.mjs run.mjs '{"script": "...", "env": {...}, "out": "report.json",
//                                          "iterations": 6, "vus": 3}'
//
// As `k6 run` does, but for a handful of iterations instead of the scenarios' durations: the init
// context once for the options (VU 0), setup(), then each scenario in startTime order with its exec
// function, its env and `iterations` iterations spread over `vus` VUs (each initialised once, with
// module instances of its own), then teardown(). It writes what happened to `out` as JSON: the
// options (through JSON, as k6 takes them) and k6's complaints about them, the checks, the requests
// (with their http_req_failed verdict), and any error or exec.test.abort().
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, dirname, join, resolve as resolvePath } from 'node:path';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';
import { parseK6Duration } from './duration.mjs';
import { validateOptions } from './options.mjs';
import { TestAbort, state } from './state.mjs';
// Loaded before Node's globals are hidden below (the http module starts its worker thread).
import './modules/http.mjs';

const config = JSON.parse(process.argv[2]);
const writeReport = (report) => writeFileSync(config.out, JSON.stringify(report, null, 1));
const scriptUrl = pathToFileURL(resolvePath(config.script));
const SHIM_DIR = dirname(fileURLToPath(import.meta.url));

// k6 has none of Node's globals: hide those a script could use by mistake (the shim's own modules took
// what they need when they were imported).
for (const name of [
  'process',
  'Buffer',
  'global',
  'require',
  'fetch',
  'setImmediate',
  'URL',
  'URLSearchParams',
  'atob',
  'btoa',
  'structuredClone',
  'Headers',
  'Request',
  'Response',
  'FormData',
  'Blob',
  'navigator',
]) {
  Object.defineProperty(globalThis, name, {
    configurable: true,
    get() {
      throw new ReferenceError(`${name} is not defined (k6 has no such global)`);
    },
  });
}

/** The directory open() resolves against: that of the module whose top level is running (k6's rule). */
const currentModuleDir = () => {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const files = [...stack.matchAll(/(file:\/\/[^\s)]+?):\d+:\d+/g)]
    .map((m) => m[1])
    .filter((u) => !fileURLToPath(u.split('?')[0]).startsWith(SHIM_DIR));
  if (files.length === 0) throw new Error('k6 shim: open() called from no script');
  return dirname(fileURLToPath(files[files.length - 1].split('?')[0]));
};

const openedAtInit = new Set();
globalThis.open = (filename, mode) => {
  if (!state.initContext) {
    throw new Error(
      'the "open" function is only available in the init stage (i.e. the global scope), see ' +
        'https://grafana.com/docs/k6/latest/using-k6/test-lifecycle/ for more information',
    );
  }
  if (filename === '' || filename === undefined)
    throw new Error("open() can't be used with an empty filename");
  const name = String(filename).replace(/^file:\/\//, '');
  const path = isAbsolute(name) ? name : join(currentModuleDir(), name);
  if (globalThis.__VU !== 0 && !openedAtInit.has(path)) {
    throw new Error(
      `open() can't be used with files that weren't previously opened during initialization (__VU==0), path: "${path}"`,
    );
  }
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`open ${path}: no such file or directory`);
  }
  if (st.isDirectory()) throw new Error(`open() can't be used with directories, path: "${path}"`);
  if (globalThis.__VU === 0) openedAtInit.add(path);
  const data = readFileSync(path);
  return mode === 'b'
    ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)
    : data.toString('utf8');
};

const report = {
  options: null,
  optionErrors: [],
  exports: [],
  scenarios: [],
  checks: state.checks,
  requests: state.requests,
  metricSamples: state.metricSamples,
  errors: [],
  aborted: null,
  sleptSeconds: 0,
};

const roundTrip = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** Runs `fn` in a VU's init context with the global env; resolves to the module's namespace. */
const initVU = async (id) => {
  state.initContext = true;
  state.vu = null;
  globalThis.__VU = id;
  globalThis.__ITER = 0;
  globalThis.__ENV = { ...config.env };
  const url = new URL(scriptUrl);
  url.searchParams.set('k6vu', String(id));
  try {
    return await import(url.href);
  } finally {
    state.initContext = false;
  }
};

const main = async () => {
  const init = await initVU(0);
  const exportedFunctions = Object.keys(init).filter((k) => typeof init[k] === 'function');
  report.exports = exportedFunctions;
  const options = roundTrip(init.options ?? {});
  report.options = options;
  state.options = Object.freeze(options);
  report.optionErrors = validateOptions(options, exportedFunctions);
  if (report.optionErrors.length > 0) return;

  const scenarios = Object.entries(
    options.scenarios ?? { default: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } },
  ).sort(([, a], [, b]) => parseK6Duration(a.startTime ?? 0) - parseK6Duration(b.startTime ?? 0));

  // setup(): a VU of its own, outside any scenario; its result reaches the others through JSON.
  let data;
  if (typeof init.setup === 'function') {
    state.vu = { id: 0, iterationInInstance: 0, iterationInScenario: 0, scenario: null };
    globalThis.__ENV = { ...config.env };
    try {
      data = roundTrip(init.setup());
    } catch (err) {
      report.errors.push({ where: 'setup', message: String(err?.stack ?? err) });
      if (err instanceof TestAbort) report.aborted = err.message;
      return;
    }
  }

  const vus = new Map();
  let iterationInInstance = 0;
  for (const [name, sc] of scenarios) {
    const wanted = sc.executor === 'shared-iterations' ? Number(sc.iterations ?? 1) : Infinity;
    const iterations = Math.min(config.iterations, wanted);
    const poolSize = Math.max(
      1,
      Math.min(config.vus, Number(sc.vus ?? sc.preAllocatedVUs ?? sc.maxVUs ?? 1)),
    );
    const fnName = sc.exec ?? 'default';
    report.scenarios.push({ name, executor: sc.executor, exec: fnName, iterations, vus: poolSize });
    const perVU = new Map();
    for (let i = 0; i < iterations; i++) {
      const id = (i % poolSize) + 1;
      if (!vus.has(id)) vus.set(id, await initVU(id));
      const mod = vus.get(id);
      const inScenario = perVU.get(id) ?? 0;
      perVU.set(id, inScenario + 1);
      state.vu = {
        id,
        iterationInInstance: iterationInInstance,
        iterationInScenario: inScenario,
        scenario: {
          name,
          executor: sc.executor,
          startTime: 0,
          iterationInTest: i,
          iterationInInstance: i,
          progress: i / iterations,
        },
      };
      globalThis.__VU = id;
      globalThis.__ITER = inScenario;
      globalThis.__ENV = { ...config.env, ...(sc.env ?? {}) };
      state.group = '';
      try {
        await mod[fnName](roundTrip(data));
      } catch (err) {
        report.errors.push({
          where: `${name} iteration ${i} (VU ${id})`,
          message: String(err?.stack ?? err),
        });
        if (err instanceof TestAbort) {
          report.aborted = err.message;
          break;
        }
      }
      iterationInInstance++;
      state.iterationsCompleted = iterationInInstance;
    }
    if (report.aborted) break;
  }

  // teardown(): in k6 it runs after an abort too.
  if (typeof init.teardown === 'function') {
    state.vu = { id: 0, iterationInInstance: 0, iterationInScenario: 0, scenario: null };
    globalThis.__ENV = { ...config.env };
    try {
      init.teardown(roundTrip(data));
    } catch (err) {
      report.errors.push({ where: 'teardown', message: String(err?.stack ?? err) });
    }
  }
};

try {
  await main();
} catch (err) {
  report.errors.push({ where: 'init', message: String(err?.stack ?? err) });
}
report.sleptSeconds = state.sleptSeconds;
writeReport(report);

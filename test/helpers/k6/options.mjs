// k6 v1.x's checks of a script's `options` (scenarios and thresholds), for the k6 shim's runner:
// what `k6 run` refuses before the test starts. After k6's lib/executor (*Config).Validate, its strict
// JSON decoding of scenarios, and metrics/thresholds*.go. Returns the problems, [] when k6 would run.
import { parseK6Duration } from './duration.mjs';

const BASE = ['executor', 'startTime', 'gracefulStop', 'env', 'exec', 'tags', 'options'];
const EXECUTORS = {
  'shared-iterations': ['vus', 'iterations', 'maxDuration'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
  'constant-vus': ['vus', 'duration'],
  'ramping-vus': ['startVUs', 'stages', 'gracefulRampDown'],
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs'],
  'externally-controlled': ['vus', 'maxVUs', 'duration'],
};
const INT_FIELDS = new Set([
  'vus',
  'iterations',
  'startVUs',
  'rate',
  'startRate',
  'preAllocatedVUs',
  'maxVUs',
  'target',
]);
const DURATION_FIELDS = new Set([
  'startTime',
  'gracefulStop',
  'maxDuration',
  'duration',
  'timeUnit',
  'gracefulRampDown',
]);
const MIN_DURATION_MS = 1000;

/** k6's built-in metrics and their types. */
export const BUILTIN_METRICS = {
  vus: 'gauge',
  vus_max: 'gauge',
  iterations: 'counter',
  iteration_duration: 'trend',
  dropped_iterations: 'counter',
  checks: 'rate',
  group_duration: 'trend',
  http_reqs: 'counter',
  http_req_failed: 'rate',
  http_req_duration: 'trend',
  http_req_blocked: 'trend',
  http_req_connecting: 'trend',
  http_req_tls_handshaking: 'trend',
  http_req_sending: 'trend',
  http_req_waiting: 'trend',
  http_req_receiving: 'trend',
  ws_sessions: 'counter',
  ws_msgs_sent: 'counter',
  ws_msgs_received: 'counter',
  ws_ping: 'trend',
  ws_session_duration: 'trend',
  ws_connecting: 'trend',
  grpc_req_duration: 'trend',
  data_sent: 'counter',
  data_received: 'counter',
};
const METHODS = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'p'],
};
const OPERATORS = ['<=', '<', '>=', '>', '===', '==', '!='];
const GO_FLOAT = /^[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)$/i;

/** guregu/null.v3 Int from JSON: an integer, a string of one, or null (unset). */
const intField = (v) => {
  if (v === null || v === undefined) return { valid: false };
  if (typeof v === 'number' && Number.isInteger(v)) return { valid: true, value: v };
  if (typeof v === 'string' && /^[-+]?\d+$/.test(v)) return { valid: true, value: Number(v) };
  throw new Error(`cannot unmarshal ${JSON.stringify(v)} into an integer`);
};

const durationField = (v) => {
  if (v === null || v === undefined) return { valid: false };
  return { valid: true, value: parseK6Duration(v) };
};

const validateStages = (stages, errors) => {
  if (!Array.isArray(stages) || stages.length === 0) {
    errors.push('at least one stage has to be specified');
    return;
  }
  stages.forEach((s, i) => {
    for (const key of Object.keys(s ?? {})) {
      if (key !== 'duration' && key !== 'target') errors.push(`stage ${i + 1}: unknown field "${key}"`);
    }
    for (const [key, parse] of [
      ['duration', durationField],
      ['target', intField],
    ]) {
      try {
        const f = parse(s?.[key]);
        if (!f.valid) errors.push(`stage ${i + 1} doesn't have a ${key}`);
        else if (f.value < 0) errors.push(`the ${key} for stage ${i + 1} can't be negative`);
      } catch (err) {
        errors.push(`stage ${i + 1}: ${err.message}`);
      }
    }
  });
};

/** The problems k6 finds in one scenario. */
const validateScenario = (name, sc, exportedFunctions) => {
  const errors = [];
  const prefixed = () => errors.map((e) => `scenario ${name}: ${e}`);
  if (!/^[0-9a-zA-Z_-]+$/.test(name)) {
    errors.push('the scenario name should contain only numbers, latin letters, underscores, and dashes');
  }
  const fields = EXECUTORS[sc?.executor];
  if (!fields)
    return [...prefixed(), `scenario ${name}: executor type "${sc?.executor}" is not a k6 executor`];
  const named = errors.length;
  const v = {};
  for (const [key, value] of Object.entries(sc)) {
    if (!BASE.includes(key) && !fields.includes(key)) {
      errors.push(`json: unknown field "${key}"`);
      continue;
    }
    try {
      if (INT_FIELDS.has(key)) v[key] = intField(value);
      else if (DURATION_FIELDS.has(key)) v[key] = durationField(value);
    } catch (err) {
      errors.push(`${key}: ${err.message}`);
    }
  }
  // k6 decodes a scenario strictly: the first field it cannot take stops it there.
  if (errors.length > named) return prefixed();
  for (const key of ['env', 'tags']) {
    if (sc[key] !== undefined && sc[key] !== null) {
      if (typeof sc[key] !== 'object' || Array.isArray(sc[key])) errors.push(`${key} must be an object`);
      else
        for (const [k, val] of Object.entries(sc[key]))
          if (typeof val !== 'string') errors.push(`${key}.${k} must be a string`);
    }
  }
  if (sc.exec !== undefined && sc.exec !== null && (typeof sc.exec !== 'string' || sc.exec === '')) {
    errors.push('exec value cannot be empty');
  }
  const exec = typeof sc.exec === 'string' && sc.exec !== '' ? sc.exec : 'default';
  if (!exportedFunctions.includes(exec)) errors.push(`function '${exec}' not found in exports`);
  const num = (key, fallback) => (v[key]?.valid ? v[key].value : fallback);
  if (num('startTime', 0) < 0) errors.push("the startTime can't be negative");
  if (num('gracefulStop', 30_000) < 0) errors.push("the gracefulStop timeout can't be negative");

  switch (sc.executor) {
    case 'shared-iterations':
    case 'per-vu-iterations': {
      const vus = num('vus', 1);
      const iterations = num('iterations', 1);
      if (vus <= 0) errors.push('the number of VUs must be more than 0');
      if (sc.executor === 'shared-iterations' && iterations < vus) {
        errors.push(`the number of iterations (${iterations}) can't be less than the number of VUs (${vus})`);
      }
      if (sc.executor === 'per-vu-iterations' && iterations <= 0) {
        errors.push('the number of iterations must be more than 0');
      }
      if (num('maxDuration', 600_000) < MIN_DURATION_MS) errors.push('the maxDuration must be at least 1s');
      break;
    }
    case 'constant-vus':
      if (num('vus', 1) <= 0) errors.push('the number of VUs must be more than 0');
      if (!v.duration?.valid) errors.push('the duration is unspecified');
      else if (v.duration.value < MIN_DURATION_MS) errors.push('the duration must be at least 1s');
      break;
    case 'ramping-vus':
      if (num('startVUs', 1) < 0) errors.push("the number of start VUs can't be negative");
      validateStages(sc.stages, errors);
      break;
    case 'externally-controlled':
      if (!v.duration?.valid) errors.push('the duration is unspecified');
      break;
    case 'constant-arrival-rate':
    case 'ramping-arrival-rate': {
      if (sc.executor === 'constant-arrival-rate') {
        if (!v.rate?.valid) errors.push("the iteration rate isn't specified");
        else if (v.rate.value <= 0) errors.push('the iteration rate must be more than 0');
        if (!v.duration?.valid) errors.push('the duration is unspecified');
        else if (v.duration.value < MIN_DURATION_MS) errors.push('the duration must be at least 1s');
        if (num('timeUnit', 1000) <= 0) errors.push('the timeUnit must be more than 0');
      } else {
        if (num('startRate', 0) < 0) errors.push("the startRate value can't be negative");
        if (num('timeUnit', 1000) < 0) errors.push('the timeUnit must be more than 0');
        validateStages(sc.stages, errors);
      }
      if (!v.preAllocatedVUs?.valid) errors.push("the number of preAllocatedVUs isn't specified");
      else if (v.preAllocatedVUs.value < 0) errors.push("the number of preAllocatedVUs can't be negative");
      if (v.maxVUs?.valid && v.preAllocatedVUs?.valid && v.maxVUs.value < v.preAllocatedVUs.value) {
        errors.push("maxVUs can't be less than preAllocatedVUs");
      }
      break;
    }
  }
  return prefixed();
};

/** k6's ParseMetricName: `name` or `name{key:value,...}` (quotes around a value are dropped). */
export const parseMetricName = (text) => {
  const open = text.indexOf('{');
  const close = text.lastIndexOf('}');
  if (open < 0 && close < 0) return { name: text, tags: {} };
  if (open < 0 || close < 0 || close < open || close !== text.length - 1) {
    throw new Error(`parsing metric name failed, metric ${JSON.stringify(text)} has malformed curly braces`);
  }
  const tags = {};
  for (const pair of text.slice(open + 1, close).split(',')) {
    const [key, ...rest] = pair.split(':');
    if (!key?.trim() || rest.length === 0) {
      throw new Error(`parsing metric name failed, tag ${JSON.stringify(pair)} of ${text} is not key:value`);
    }
    tags[key.trim()] = rest
      .join(':')
      .trim()
      .replace(/^["']|["']$/g, '');
  }
  return { name: text.slice(0, open), tags };
};

/** k6's threshold expression grammar: `method op value`, e.g. p(95)<500, rate<0.01, count>0. */
export const parseThresholdExpression = (text) => {
  for (const op of OPERATORS) {
    const at = text.indexOf(op);
    if (at < 0) continue;
    const lhs = text.slice(0, at).trim();
    const rhs = text.slice(at + op.length).trim();
    let method = lhs;
    if (!['value', 'count', 'rate', 'avg', 'min', 'med', 'max'].includes(lhs)) {
      const p = /^p\((.*)\)$/.exec(lhs);
      if (!p || !GO_FLOAT.test(p[1]))
        throw new Error(`failed parsing threshold expression's ${JSON.stringify(text)} left hand side`);
      method = 'p';
    }
    if (!GO_FLOAT.test(rhs))
      throw new Error(`failed parsing threshold expression's ${JSON.stringify(text)} right hand side`);
    return { method, op, value: Number(rhs) };
  }
  throw new Error(
    `failed parsing threshold expression ${JSON.stringify(text)}; reason: malformed threshold expression`,
  );
};

/**
 * The problems k6 v1.x finds in `options` (already through JSON, as k6 takes them) of a script whose
 * exported functions are `exportedFunctions`, with `customMetrics` (name → type) declared.
 */
export const validateOptions = (options, exportedFunctions, customMetrics = {}) => {
  const errors = [];
  const scenarios = options?.scenarios ?? {};
  for (const [name, sc] of Object.entries(scenarios))
    errors.push(...validateScenario(name, sc, exportedFunctions));
  const metrics = { ...BUILTIN_METRICS, ...customMetrics };
  for (const [key, list] of Object.entries(options?.thresholds ?? {})) {
    let parsed;
    try {
      parsed = parseMetricName(key);
    } catch (err) {
      errors.push(`threshold ${key}: ${err.message}`);
      continue;
    }
    const type = metrics[parsed.name];
    if (!type) {
      errors.push(
        `invalid threshold defined on ${key}; reason: no metric name ${JSON.stringify(parsed.name)} found`,
      );
      continue;
    }
    if ('scenario' in parsed.tags && !(parsed.tags.scenario in scenarios)) {
      errors.push(`threshold ${key}: no scenario named ${JSON.stringify(parsed.tags.scenario)}`);
    }
    if (!Array.isArray(list)) {
      errors.push(`threshold ${key}: must be an array of expressions`);
      continue;
    }
    for (const item of list) {
      const source = typeof item === 'string' ? item : item?.threshold;
      if (typeof item === 'object' && item !== null) {
        for (const k of Object.keys(item)) {
          if (!['threshold', 'abortOnFail', 'delayAbortEval'].includes(k))
            errors.push(`threshold ${key}: unknown field "${k}"`);
        }
        if ('abortOnFail' in item && typeof item.abortOnFail !== 'boolean')
          errors.push(`threshold ${key}: abortOnFail must be a boolean`);
        if (item.delayAbortEval !== undefined) {
          try {
            parseK6Duration(item.delayAbortEval);
          } catch (err) {
            errors.push(`threshold ${key}: delayAbortEval: ${err.message}`);
          }
        }
      }
      if (typeof source !== 'string') {
        errors.push(
          `threshold ${key}: ${JSON.stringify(item)} is neither an expression nor {threshold, ...}`,
        );
        continue;
      }
      try {
        const expr = parseThresholdExpression(source);
        if (!METHODS[type].includes(expr.method)) {
          errors.push(
            `invalid threshold ${JSON.stringify(source)} applied on metric ${key}; reason: unsupported aggregation ` +
              `method ${expr.method} on metric of type ${type}. supported aggregation methods for this metric are: ${METHODS[type].join(', ')}`,
          );
        }
      } catch (err) {
        errors.push(`threshold ${key}: ${err.message}`);
      }
    }
  }
  return errors;
};

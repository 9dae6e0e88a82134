// The k6 module for the k6 shim (tests only): check, fail, group, sleep, as k6 v1.x documents them.
// https://grafana.com/docs/k6/latest/javascript-api/k6/
import { currentTags, requireVUContext, state } from '../state.mjs';

/** The longest the shim really sleeps, whatever sleep() asks: the tests run iterations, not time. */
const SLEEP_CAP_MS = 5;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * check(val, sets, [tags]): runs every check of `sets` on `val` (a function is called with it, any
 * other value is taken for its truthiness), records each as a `checks` rate sample tagged with its
 * name, and returns true only if all passed. A check that throws counts as failed, then throws.
 */
export const check = (val, sets, tags) => {
  requireVUContext('check()');
  if (sets === undefined || sets === null) throw new Error('no checks provided to `check`');
  let all = true;
  for (const name of Object.keys(sets)) {
    if (name.includes('::')) throw new Error("group and check names may not contain '::'");
    const fn = sets[name];
    if (typeof fn === 'function' && fn.constructor.name === 'AsyncFunction') {
      throw new Error('the built-in check() does not support async functions as arguments');
    }
    let ok;
    let thrown;
    try {
      ok = Boolean(typeof fn === 'function' ? fn(val) : fn);
    } catch (err) {
      ok = false;
      thrown = err;
    }
    if (!ok) all = false;
    state.checks.push({
      name,
      passed: ok,
      tags: { ...currentTags(), ...(tags ?? {}), check: name },
      // What was checked, when it looks like a k6 Response: to say why a check failed.
      ...(!ok && val && typeof val === 'object' && 'status' in val
        ? { status: val.status, body: typeof val.body === 'string' ? val.body.slice(0, 300) : undefined }
        : {}),
    });
    if (thrown) throw thrown;
  }
  return all;
};

/** fail([err]): throws, ending the iteration (or setup, which ends the test). */
export const fail = (err) => {
  throw new Error(err === undefined ? 'Error' : String(err));
};

/** group(name, fn): runs fn with the group tag set, returns its result. */
export const group = (name, fn) => {
  requireVUContext('group()');
  if (name.includes('::')) throw new Error("group and check names may not contain '::'");
  const outer = state.group;
  state.group = `${outer}::${name}`;
  try {
    return fn();
  } finally {
    state.group = outer;
  }
};

/** sleep(seconds): recorded, but the shim waits a few milliseconds at most. */
export const sleep = (seconds) => {
  requireVUContext('sleep()');
  const s = Number(seconds);
  if (!(s >= 0)) throw new Error(`sleep: invalid duration ${seconds}`);
  state.sleptSeconds += s;
  Atomics.wait(sleeper, 0, 0, Math.min(s * 1000, SLEEP_CAP_MS));
};

export default { check, fail, group, sleep };

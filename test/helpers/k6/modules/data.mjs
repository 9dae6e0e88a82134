// k6/data for the k6 shim (tests only): SharedArray as k6 v1.x implements it — built once per name
// from a function returning an array (run in the init context), each element kept as JSON and handed
// out parsed and deep-frozen; the array itself is immutable.
// https://grafana.com/docs/k6/latest/javascript-api/k6-data/sharedarray/
import { state } from '../state.mjs';

/** Shared by every VU of the run, as k6 shares one store between them. */
const shared = new Map();

const deepFreeze = (v) => {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const key of Object.keys(v)) deepFreeze(v[key]);
  }
  return v;
};

export function SharedArray(name, fn) {
  if (!new.target) throw new TypeError("Class constructor SharedArray cannot be invoked without 'new'");
  if (!state.initContext) throw new Error('new SharedArray must be called in the init context');
  if (String(name) === '' || name === undefined)
    throw new Error("empty name provided to SharedArray's constructor");
  if (typeof fn !== 'function') {
    throw new Error("a function is expected as the second argument of SharedArray's constructor");
  }
  if (fn.constructor.name === 'AsyncFunction') {
    throw new Error('SharedArray constructor does not support async functions as second argument');
  }
  let items = shared.get(String(name));
  if (!items) {
    const value = fn();
    if (!Array.isArray(value)) throw new Error('only arrays can be made into SharedArray');
    items = value.map((v) => JSON.stringify(v));
    shared.set(String(name), items);
  }
  const immutable = () => {
    throw new TypeError('SharedArray is immutable');
  };
  // An array (Array.isArray, Array.prototype) whose elements are parsed on each access, as k6's.
  return new Proxy(new Array(items.length), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key)) {
        const i = Number(key);
        return i < items.length ? deepFreeze(JSON.parse(items[i] ?? 'null')) : undefined;
      }
      if (key === 'length') return items.length;
      return Reflect.get(target, key, receiver);
    },
    has(target, key) {
      if (typeof key === 'string' && /^(0|[1-9]\d*)$/.test(key)) return Number(key) < items.length;
      return Reflect.has(target, key);
    },
    set: immutable,
    defineProperty: immutable,
    deleteProperty: immutable,
  });
}

export default { SharedArray };

// k6/metrics for the k6 shim (tests only): Counter, Gauge, Rate, Trend, declared in the init context
// and added to in VU code; their names count as metrics for the threshold checks.
// https://grafana.com/docs/k6/latest/javascript-api/k6-metrics/
import { currentTags, requireVUContext, state } from '../state.mjs';

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/;

const metric = (type) =>
  function (name, isTime = false) {
    if (!new.target) throw new TypeError(`Class constructor ${type} cannot be invoked without 'new'`);
    if (!state.initContext) throw new Error('metrics must be declared in the init context');
    if (!NAME.test(name)) throw new Error(`invalid metric name: '${name}'`);
    const known = state.customMetrics.get(name);
    if (known && known !== type) throw new Error(`metric '${name}' already exists with type ${known}`);
    state.customMetrics.set(name, type);
    this.name = name;
    this.add = (value, tags) => {
      requireVUContext(`${type}.add()`);
      state.metricSamples.push({
        metric: name,
        type,
        isTime,
        value: Number(value),
        tags: { ...currentTags(), ...tags },
      });
      return true;
    };
  };

export const Counter = metric('counter');
export const Gauge = metric('gauge');
export const Rate = metric('rate');
export const Trend = metric('trend');
export default { Counter, Gauge, Rate, Trend };

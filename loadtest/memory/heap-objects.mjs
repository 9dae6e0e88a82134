// Heap objects of this process by kind, from a heap snapshot (which collects garbage first): what
// the memory scripts diff before and after to say how many objects something keeps alive.
import { writeHeapSnapshot } from 'node:v8';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Counts the heap's objects by snapshot type (`object`, `string`, `array`, `object shape` …);
 * with `byName`, an object or closure is counted under `<type>:<constructor name>` instead.
 *
 * @param {{ byName?: boolean }} [options]
 * @returns {Map<string, number>}
 */
export const countHeapObjects = (options = {}) => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-heap-'));
  try {
    const snapshot = JSON.parse(readFileSync(writeHeapSnapshot(join(dir, 'h.heapsnapshot')), 'utf8'));
    const fields = snapshot.snapshot.meta.node_fields;
    const types = snapshot.snapshot.meta.node_types[0];
    const typeAt = fields.indexOf('type');
    const nameAt = fields.indexOf('name');
    const counts = new Map();
    for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
      const type = types[snapshot.nodes[i + typeAt]];
      const named = options.byName === true && (type === 'object' || type === 'closure');
      const key = named ? `${type}:${snapshot.strings[snapshot.nodes[i + nameAt]]}` : type;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * What `n` somethings added between two counts, per something: `[kind, per one]`, largest first,
 * kinds that moved by less than 0.05 either way left out. A negative one is a kind that shrank
 * (strings flattened or freed since the first count): sum them all for the net.
 *
 * @param {Map<string, number>} before
 * @param {Map<string, number>} after
 * @param {number} n
 * @returns {Array<[string, number]>}
 */
export const perOne = (before, after, n) =>
  [...after]
    .map(([kind, count]) => /** @type {[string, number]} */ ([kind, (count - (before.get(kind) ?? 0)) / n]))
    .filter(([, each]) => Math.abs(each) >= 0.05)
    .sort((a, b) => b[1] - a[1]);

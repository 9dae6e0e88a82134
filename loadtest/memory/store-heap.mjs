// What the memory store's live tokens cost the garbage collector. Issues N login tokens through
// the token service over the memory store (in this process, no HTTP), then prints the heap bytes
// and heap objects a token keeps, the time a token takes to issue, and how long a full
// collection of that heap takes. Every object on the heap is one more for the collector to mark,
// so the object count, not the bytes, is what sets the marking time. Usage (after npm run build):
//   node --expose-gc loadtest/memory/store-heap.mjs [N=250000]
import process from 'node:process';
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../../dist/lib/clock.js';
import { createKeys, createMemoryStore } from '../../dist/store/index.js';
import { createTokenService } from '../../dist/tokens/index.js';
import { countHeapObjects, perOne } from './heap-objects.mjs';
import { input } from './issue-input.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const gc = /** @type {() => void} */ (globalThis.gc);
const N = Number(process.argv[2] ?? 250_000);
const SNAPSHOT_TOKENS = 20_000;

/** Stores kept alive to the end (a store nothing refers to would be collected with its tokens). */
const kept = [];
const newService = () => {
  const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
  kept.push(store);
  return createTokenService({
    store,
    keys: createKeys(),
    clock: systemClock,
    serverKey: Buffer.alloc(32, 7),
  });
};

// Objects a token keeps, by type: a smaller store, counted from a heap snapshot before and after.
const before = countHeapObjects();
const small = newService();
for (let i = 0; i < SNAPSHOT_TOKENS; i++) await small.issue(input(i));
const perToken = perOne(before, countHeapObjects(), SNAPSHOT_TOKENS);

// Bytes, issue time and full collections: the large store.
gc();
const heapBefore = process.memoryUsage().heapUsed;
const service = newService();
const started = performance.now();
for (let i = 0; i < N; i++) await service.issue(input(i));
const issueMs = performance.now() - started;
gc();
const heapAfter = process.memoryUsage().heapUsed;
const pauses = [];
for (let k = 0; k < 5; k++) {
  const t = performance.now();
  gc();
  pauses.push(performance.now() - t);
}
pauses.sort((a, b) => a - b);

console.log(`tokens issued: ${N} (objects counted on ${SNAPSHOT_TOKENS})`);
console.log(`issue: ${((issueMs * 1000) / N).toFixed(1)} µs a token`);
console.log(
  `heap: ${Math.round((heapAfter - heapBefore) / N)} bytes a token, ${((heapAfter - heapBefore) / 2 ** 20).toFixed(0)} MiB in all`,
);
console.log(
  `objects: ${perToken.reduce((s, [, n]) => s + n, 0).toFixed(1)} a token (${perToken
    .map(([type, n]) => `${type} ${n.toFixed(1)}`)
    .join(', ')})`,
);
console.log(`full collection (gc(), median of 5): ${pauses[2].toFixed(0)} ms`);
console.log(`stores: ${kept.map((store) => store.size()).join(' + ')} entries`);

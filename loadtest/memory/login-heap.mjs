// Heap objects a jwks login with a token never seen before keeps alive, through the whole gateway
// (the composed server of `authgate dev`, requests injected in this process): the client token
// in the memory store, the verified result and the parsed claims in their caches. Every kept
// object is one more for the collector to mark. Counted by kind; `object shape` counts V8 hidden
// classes, which a login should never add. Usage (after npm run build):
//   node loadtest/memory/login-heap.mjs [N=3000]
import process from 'node:process';
import { setUpDev } from '../../dist/cli/dev.js';
import { composeServer } from '../../dist/cli/compose.js';
import { countHeapObjects, perOne } from './heap-objects.mjs';

const N = Number(process.argv[2] ?? 3000);
const dev = await setUpDev({ address: '127.0.0.1', port: 0 });
const server = composeServer({ ...dev.config, log: { level: 'silent' } });
await server.app.ready();

const tokens = [];
for (let i = 0; i < 2 * N; i++) {
  const minted = await dev.cluster.mintToken({
    namespace: 'test',
    serviceAccount: 'nginx',
    audiences: ['vault'],
    pod: 'nginx',
    expirationSeconds: 7200,
  });
  tokens.push(minted.token);
}
const login = async (jwt) => {
  const res = await server.app.inject({
    method: 'POST',
    url: '/v1/auth/kubernetes-jwks/login',
    payload: { role: 'nginx', jwt },
  });
  if (res.statusCode !== 200) throw new Error(`login answered ${res.statusCode}: ${res.body}`);
};

// The first N fill the caches' and the store's tables to their working size; the next N are counted.
for (let i = 0; i < N; i++) await login(tokens[i]);
const before = countHeapObjects({ byName: true });
for (let i = N; i < 2 * N; i++) await login(tokens[i]);
const kept = perOne(before, countHeapObjects({ byName: true }), N);

console.log(`logins counted: ${N}, each with a new token (after ${N} unmeasured)`);
console.log(`objects kept a login, net: ${kept.reduce((s, [, n]) => s + n, 0).toFixed(1)}`);
for (const [kind, n] of kept) console.log(`  ${n.toFixed(2)}  ${kind}`);
await server.close();
await dev.close();

/**
 * The entry of `authgate dev --cluster-process`'s child: the simulated cluster, seeded with the
 * first setup, in a process of its own (see dev-cluster-process.ts). argv[2] is its port.
 *
 * Its handlers come before anything else is loaded: the simulator is imported only once they are
 * in place, so that a parent that dies (or a Ctrl-C that comes) while the child is still loading
 * is seen rather than lost (an orphan kept its port open; a Ctrl-C killed it as a failure).
 */
import type { DevCluster } from '../devcluster/index.js';
import type { FromCluster, ToCluster } from './dev-cluster-process.js';

const reply = (m: FromCluster): void => {
  if (process.connected) process.send?.(m);
};

// The terminal's Ctrl-C (and its hangup) reaches the whole process group: the gateway decides,
// and closes this when it ends.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
process.on('SIGHUP', () => undefined);

let cluster: DevCluster | undefined;
let stopping = false;
const stop = async (): Promise<never> => {
  stopping = true;
  await cluster?.close();
  process.exit(0);
};
// The parent ended, however it ended.
process.on('disconnect', () => void stop());

process.on('message', (m: ToCluster) => {
  if (m.type === 'close') {
    void stop();
    return;
  }
  cluster?.mintToken(m.request).then(
    ({ token, expirationTimestamp }) => reply({ type: 'minted', id: m.id, token, expirationTimestamp }),
    (err: unknown) => reply({ type: 'refused', id: m.id, message: (err as Error).message }),
  );
});

try {
  const { seedFirstSetup, startDevCluster } = await import('../devcluster/index.js');
  cluster = await startDevCluster({ port: Number(process.argv[2] ?? '0') });
  seedFirstSetup(cluster);
  // The parent went while this started: nobody will close it.
  if (!process.connected || stopping) await stop();
  reply({ type: 'ready', url: cluster.url, issuer: cluster.issuer, adminToken: cluster.adminToken });
} catch (err) {
  reply({ type: 'failed', message: (err as Error).message });
  await stop();
}

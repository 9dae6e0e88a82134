/**
 * The entry of `authgate dev --cluster-process`'s child: the simulated cluster, seeded with the
 * first setup, in a process of its own (see dev-cluster-process.ts). argv[2] is its port.
 */
import { seedFirstSetup, startDevCluster, type DevCluster } from '../devcluster/index.js';
import type { FromCluster, ToCluster } from './dev-cluster-process.js';

const reply = (m: FromCluster): void => {
  if (process.connected) process.send?.(m);
};

// The terminal's Ctrl-C reaches the whole process group: the gateway drains and then closes this.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);

let cluster: DevCluster | undefined;
const stop = async (): Promise<never> => {
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
  cluster = await startDevCluster({ port: Number(process.argv[2] ?? '0') });
  seedFirstSetup(cluster);
  reply({ type: 'ready', url: cluster.url, issuer: cluster.issuer, adminToken: cluster.adminToken });
} catch (err) {
  reply({ type: 'failed', message: (err as Error).message });
  await stop();
}

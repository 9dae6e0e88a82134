import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DevCluster, MintTokenRequest } from '../devcluster/index.js';

/** What `authgate dev` needs of its simulated cluster, wherever that runs. */
export type DevClusterHandle = Pick<DevCluster, 'url' | 'issuer' | 'adminToken' | 'mintToken' | 'close'>;

/** Parent → child. */
export type ToCluster = { type: 'mint'; id: number; request: MintTokenRequest } | { type: 'close' };

/** Child → parent. */
export type FromCluster =
  | { type: 'ready'; url: string; issuer: string; adminToken: string }
  | { type: 'failed'; message: string }
  | { type: 'minted'; id: number; token: string; expirationTimestamp: string }
  | { type: 'refused'; id: number; message: string };

/** How long a closing child may take before it is killed. */
const CLOSE_GRACE_MS = 5000;

/**
 * Starts the simulated cluster (seeded with the first setup, as in-process) in a child process of
 * its own and resolves a handle once it listens. Why: a real API server never shares the gateway's
 * CPU, and in one process every TokenReview's other side (an RS256 check, its HTTP) is charged to
 * the gateway: the bench's cold-cache rows measured the simulator as much as authgate. Tokens are
 * minted over the IPC channel, with the in-process semantics. The child ignores Ctrl-C (the
 * terminal sends it to both; the gateway drains first and then closes it) and ends when this
 * process does, however it ends: its IPC channel closes.
 */
export const forkDevCluster = (port: number): Promise<DevClusterHandle> => {
  const child = fork(fileURLToPath(new URL('./dev-cluster-child.js', import.meta.url)), [String(port)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const pending = new Map<
    number,
    { resolve: (v: { token: string; expirationTimestamp: string }) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`the simulated cluster exited (${signal ?? code})`));
    pending.clear();
  });
  child.on('message', (m: FromCluster) => {
    if (m.type !== 'minted' && m.type !== 'refused') return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.type === 'minted') p?.resolve({ token: m.token, expirationTimestamp: m.expirationTimestamp });
    else p?.reject(new Error(m.message));
  });

  let closing = false;
  const close = async (): Promise<void> => {
    closing = true;
    if (child.exitCode === null && child.signalCode === null) {
      if (child.connected) send(child, { type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
  };

  return new Promise((resolve, reject) => {
    const early = (code: number | null, signal: NodeJS.Signals | null) =>
      reject(new Error(`the simulated cluster exited while starting (${signal ?? code})`));
    child.once('exit', early);
    child.once('error', reject);
    child.on('message', (m: FromCluster) => {
      if (m.type === 'failed') {
        child.off('exit', early);
        void close().then(() => reject(new Error(m.message)));
      } else if (m.type === 'ready') {
        child.off('exit', early);
        // Logins on the TokenReview mount now fail closed (503): say why, once, where dev prints.
        child.once('exit', (code, signal) => {
          if (!closing)
            process.stderr.write(`authgate dev: the simulated cluster exited (${signal ?? code})\n`);
        });
        resolve({
          url: m.url,
          issuer: m.issuer,
          adminToken: m.adminToken,
          close,
          mintToken: (request) =>
            new Promise((resolveMint, rejectMint) => {
              if (!child.connected) {
                rejectMint(new Error('the simulated cluster has exited'));
                return;
              }
              const id = nextId++;
              pending.set(id, { resolve: resolveMint, reject: rejectMint });
              send(child, { type: 'mint', id, request });
            }),
        });
      }
    });
  });
};

/**
 * Sends `message`; one the child can no longer take (it exited meanwhile: EPIPE) is dropped, not
 * raised as the child's 'error': its exit rejects what waits on it, with the reason it exited.
 */
const send = (child: ChildProcess, message: ToCluster): void => {
  child.send(message, () => undefined);
};

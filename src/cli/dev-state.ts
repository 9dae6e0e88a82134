import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchOrExplain } from './command.js';

/**
 * Where `authgate dev` leaves what `authgate dev token` needs (cluster URL and its admin bearer):
 * `AUTHGATE_DEV_STATE`, unless unset or empty, else `authgate-dev-<uid>.json` in the temporary directory.
 */
export const devStatePath = (): string =>
  process.env['AUTHGATE_DEV_STATE'] || join(tmpdir(), `authgate-dev-${process.getuid?.() ?? 'user'}.json`);

export type DevState = {
  clusterUrl: string;
  clusterAdminToken: string;
  gatewayAddress: string;
  /** The gateway's admin token (dev only; the state file is 0600 in the user's runtime directory). */
  adminToken: string;
  pid: number;
};

/**
 * Writes the state file without following a link planted at its path: a private temporary file
 * is created exclusively, then renamed over the path (rename replaces a link, never writes through it).
 */
export const writeStateFile = (path: string, state: DevState): void => {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
};

/**
 * Removes the state file on exit only while it still names this process: a second `authgate dev`
 * started since has written its own, which `authgate dev token` must keep finding.
 */
export const removeOwnState = (path: string): void => {
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as Partial<DevState>).pid !== process.pid) return;
  } catch {
    return;
  }
  rmSync(path, { force: true });
};

/** A client of the dev cluster's Kubernetes API, with its admin bearer. */
export type ClusterApi = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: Record<string, unknown> }>;

const START_ONE = 'start one with `authgate dev`';

/**
 * A client of the running dev cluster's Kubernetes API, from the state file `authgate dev` wrote.
 * @throws Error saying that no dev server runs, and what to do, when there is no state file; its
 * calls throw the same when the state file is stale (nothing answers at the cluster URL it names).
 */
export const devClusterApi = (): ClusterApi => {
  const statePath = devStatePath();
  let state: Partial<DevState> | null;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as Partial<DevState> | null;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message;
    throw new Error(`no running authgate dev (state file ${statePath}: ${why}): ${START_ONE}`);
  }
  if (typeof state?.clusterUrl !== 'string' || typeof state.clusterAdminToken !== 'string') {
    throw new Error(
      `no running authgate dev (state file ${statePath}: not one that authgate dev wrote): ${START_ONE}`,
    );
  }
  const { clusterUrl, clusterAdminToken } = state;
  const headers = { authorization: `Bearer ${clusterAdminToken}`, 'content-type': 'application/json' };
  return async (method, path, body) => {
    const res = await fetchOrExplain(
      `${clusterUrl}${path}`,
      { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
      (cause) => `no running authgate dev at ${clusterUrl} (${cause}; named by ${statePath}): ${START_ONE}`,
    );
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
};

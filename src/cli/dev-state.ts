import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchOrExplain } from './command.js';

/**
 * The directory of this user's dev state: `$XDG_RUNTIME_DIR/authgate`, else `authgate-<uid>` in
 * the temporary directory, created 0700. Not a file of a fixed name in the shared /tmp: another
 * user could plant one there first (the rename over it then fails, and `dev token` would read
 * their cluster URL and hand them this user's requests).
 * A runtime directory where that cannot be made (not this user's, read-only) gives way to the
 * temporary one.
 * @throws Error when the path is not a directory of this user's, closed to everyone else.
 */
const privateDir = (): string => {
  const uid = process.getuid?.();
  const ownedDir = (dir: string): string => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
      throw new Error(
        `${dir} is not a directory of this user's alone (mode 0700): remove it, or set AUTHGATE_DEV_STATE`,
      );
    }
    return dir;
  };
  const runtime = process.env['XDG_RUNTIME_DIR'];
  if (runtime) {
    try {
      return ownedDir(join(runtime, 'authgate'));
    } catch {
      // e.g. EACCES: a runtime directory that is not this user's; the temporary one is checked alike
    }
  }
  return ownedDir(join(tmpdir(), `authgate-${uid ?? 'user'}`));
};

/**
 * Where `authgate dev` leaves what `authgate dev token` needs (cluster URL and its admin bearer):
 * `AUTHGATE_DEV_STATE`, unless unset or empty, else `dev.json` in this user's private directory
 * (`$XDG_RUNTIME_DIR/authgate/`, else `authgate-<uid>/` in the temporary directory).
 */
export const devStatePath = (): string => process.env['AUTHGATE_DEV_STATE'] || join(privateDir(), 'dev.json');

/** Whether process `pid` runs (one of another user's counts: it exists). */
const running = (pid: unknown): boolean => {
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The first state of `state` and those it replaced whose dev still runs (not this process). */
const firstLive = (state: DevState | undefined): DevState | undefined => {
  for (let s = state; s !== undefined; s = s.previous) {
    if (s.pid !== process.pid && running(s.pid)) return s;
  }
  return undefined;
};

/**
 * The state at `path`, or the latest of those it replaced, whose dev still runs (not this one);
 * else undefined. What a dev starting now replaces, and gives back when it stops.
 */
export const liveStateOf = (path: string): DevState | undefined => {
  try {
    return firstLive((JSON.parse(readFileSync(path, 'utf8')) as DevState | null) ?? undefined);
  } catch {
    return undefined;
  }
};

export type DevState = {
  clusterUrl: string;
  clusterAdminToken: string;
  gatewayAddress: string;
  /** The gateway's admin token (dev only; the state file is 0600 in the user's runtime directory). */
  adminToken: string;
  pid: number;
  /** The state this one replaced (a dev started earlier), with its own: given back at this one's exit. */
  previous?: DevState;
};

/**
 * Writes the state file without following a link planted at its path: a private temporary file
 * is created exclusively, then renamed over the path (rename replaces a link, never writes through it).
 */
export const writeStateFile = (path: string, state: DevState): void => {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600, flag: 'wx' });
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true }); // it holds the admin tokens
    throw err;
  }
};

/**
 * On exit, while the state file still names this process: gives it back to the `authgate dev`
 * whose state it replaced (`previous`, if that one still runs), else removes it. A second dev
 * started since has written its own, which `authgate dev token` must keep finding; and stopping
 * the second of two must not lose the first.
 */
export const removeOwnState = (path: string, previous?: DevState): void => {
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as Partial<DevState>).pid !== process.pid) return;
  } catch {
    return;
  }
  const live = firstLive(previous);
  if (live !== undefined) writeStateFile(path, live);
  else rmSync(path, { force: true });
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
  const none = (why: string) =>
    new Error(`no running authgate dev (state file ${statePath}: ${why}): ${START_ONE}`);
  let state: Partial<DevState> | null;
  let owner: number;
  try {
    owner = lstatSync(statePath).uid;
    state = JSON.parse(readFileSync(statePath, 'utf8')) as Partial<DevState> | null;
  } catch (err) {
    throw none((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message);
  }
  // Only a file of this user's: one another user wrote would name their cluster.
  const uid = process.getuid?.();
  if (uid !== undefined && owner !== uid) throw none("another user's file, not read");
  if (typeof state?.clusterUrl !== 'string' || typeof state.clusterAdminToken !== 'string') {
    throw none('not one that authgate dev wrote');
  }
  if (state.pid !== undefined && !running(state.pid)) {
    throw none(`it names process ${String(state.pid)}, which has ended`);
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

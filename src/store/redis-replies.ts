/*
 * What Redis's answers mean to the store: which errors are a 503 rather than a bug, and which
 * servers are too old to run on.
 */

/**
 * Redis errors that mean "cannot serve now" rather than a bug in the command: a replica or a
 * loading server, a cluster in flux, and a server out of memory (OOM), unable to persist
 * (MISCONF), or refusing authgate's credentials (NOAUTH, WRONGPASS, NOPERM: a rotated password),
 * and a replication confirmation's `WAIT` ended by a failover (UNBLOCKED: the master it waited
 * on was made a replica, so the write may be lost). All are a 503, never a 500.
 */
const TRANSIENT_REPLY =
  /^(READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM|MISCONF|NOAUTH|WRONGPASS|NOPERM|EXECABORT|UNBLOCKED)/;

/**
 * An error of a command that a script called, as Redis before 7.0 answers it: nested in an ERR
 * (`ERR Error running script (call to f_…): @user_script:3: @user_script: 3: -OOM command not
 * allowed…`); 7.0 answers the command's own error. Group 1 is that error.
 */
const NESTED_IN_SCRIPT = /^ERR Error running script .*?: -([A-Z]+ .*)$/s;

/** Whether `err` means the store cannot serve now (a 503) rather than a bug in the call. */
export const isTransient = (err: unknown): boolean => {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError')
    return TRANSIENT_REPLY.test(NESTED_IN_SCRIPT.exec(err.message)?.[1] ?? err.message);
  // Connection, timeout, offline-queue and max-retries errors.
  return true;
};

/** The oldest Redis authgate runs on: the revocation indexes use `ZADD … GT` (6.2). */
export const MIN_VERSION = [6, 2] as const;

/** Whether `INFO server` text names a Redis older than {@link MIN_VERSION}; false when it names none. */
export const isTooOld = (info: string): boolean => {
  const m = /^redis_version:(\d+)\.(\d+)/m.exec(info);
  if (m === null) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1]);
};

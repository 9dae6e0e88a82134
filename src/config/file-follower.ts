import { stat } from 'node:fs/promises';

/** What started a look at followed files: the timer, or SIGHUP (which reads them whatever their stat says). */
export type FileCheckTrigger = 'interval' | 'SIGHUP';

/**
 * How often followed files (the listener's certificate, Redis's password and certificates) are
 * looked at, ms. cert-manager renews a certificate at 2/3 of its life (60 days of 90), and a
 * secret manager's rotation keeps the old password valid a while, so a minute is no delay; a look
 * is a `stat` per file.
 */
export const FILE_CHECK_INTERVAL_MS = 60_000;
/** Reads of files that changed while being read, before what was read is judged as it is. */
const MAX_READS = 3;

/** The files' versions (inode, size, mtime of what the paths resolve to); rejects when one cannot be had. */
const versionOf = async (paths: readonly string[]): Promise<string> => {
  // stat follows the links: the kubelet's swap of `..data` changes what every path resolves to.
  const stats = await Promise.all(paths.map((p) => stat(p)));
  return stats.map((s) => `${s.ino}:${s.size}:${s.mtimeMs}`).join('/');
};

export type FileFollowerOptions<T> = {
  /** The files followed: a look reads them when one of them changed. */
  paths: readonly string[];
  /** Reads the files. */
  read: () => Promise<T>;
  /**
   * Judges what was read and puts it in force: returns why it was refused (the value in force
   * stays), or `undefined` once in force or when it equals the value in force.
   */
  apply: (value: T, trigger: FileCheckTrigger) => string | undefined;
  /** Says why a look failed: an unreadable file, or a refused value. Never given the files' content. */
  onFailure: (trigger: FileCheckTrigger, reason: string) => void;
  /** Runs after every look, whatever it found. */
  afterLook?: () => void;
};

/**
 * Follows files renewed in place (a Kubernetes Secret volume: the kubelet swaps them all at once,
 * by a symlink). `check('SIGHUP')` reads them; `check('interval')` (every `intervalMs` once
 * `start`ed) reads them when what they resolve to changed (inode, size, mtime), or when the last
 * look failed. The files are read until they hold still across the read (a swap may land between
 * two reads), at most three times. Looks run one at a time; `check` never rejects.
 */
export const createFileFollower = <T>(options: FileFollowerOptions<T>) => {
  const { paths, read, apply, onFailure, afterLook } = options;
  // Unknown until a first look: the files may have changed between the config's read and now.
  let version: string | undefined;
  let failed = false;
  let queue: Promise<void> = Promise.resolve();
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;

  const readStill = async () => {
    let before = await versionOf(paths);
    for (let reads = 1; ; reads++) {
      const value = await read();
      const after = await versionOf(paths);
      if (after === before) return { value, version: after };
      // Still changing after the last read: no version is known to match what was read, so the
      // next tick reads again rather than take the files as already seen.
      if (reads === MAX_READS) return { value, version: undefined };
      before = after;
    }
  };

  const look = async (trigger: FileCheckTrigger) => {
    try {
      if (trigger === 'interval' && !failed && version !== undefined && (await versionOf(paths)) === version)
        return;
      const got = await readStill();
      const refused = apply(got.value, trigger);
      failed = refused !== undefined;
      if (failed) return onFailure(trigger, refused as string);
      version = got.version;
    } catch (err) {
      // An unreadable file, or a value the library refuses: the value in force stays.
      failed = true;
      onFailure(trigger, (err as Error).message);
    } finally {
      afterLook?.();
    }
  };

  const check = (trigger: FileCheckTrigger): Promise<void> => {
    // A tick while a look runs adds nothing; a SIGHUP reads the files after it, whatever it found.
    if (trigger === 'interval' && pending > 0) return queue;
    pending++;
    // A report or hook that throws (a failing logger) must neither reject a promise a timer or a
    // signal handler dropped, which ends the process, nor leave `queue` rejected, which skips
    // every later look.
    queue = queue
      .then(() => look(trigger))
      .catch(() => undefined)
      .finally(() => pending--);
    return queue;
  };

  return {
    check,
    /** Looks at the files every `intervalMs` (default {@link FILE_CHECK_INTERVAL_MS}). */
    start(intervalMs = FILE_CHECK_INTERVAL_MS) {
      timer ??= setInterval(() => void check('interval'), intervalMs);
      // The looks never keep the process up.
      timer.unref();
    },
    /** Stops the looks; one in progress finishes. */
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
};
export type FileFollower = ReturnType<typeof createFileFollower>;

import { readFile as fsReadFile, stat } from 'node:fs/promises';
import { unavailable } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { createSingleFlight } from '../lib/single-flight.js';
import type { VerifierLog } from './verifier-log.js';

/** The token file is re-read at least this often, as Vault re-reads its local token (jwtReloadPeriod). */
export const REVIEWER_TOKEN_RELOAD_MS = 60_000;
/**
 * The file's version (mtime, size, inode) is checked at most this often: a `stat` per TokenReview
 * was 4 % of a cold-cache login's CPU. The kubelet rewrites the file at 80 % of the token's life,
 * so a second's delay costs nothing; a 401 re-reads it at once.
 */
export const REVIEWER_TOKEN_STAT_MS = 1000;

export type ReviewerTokenDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Reads the file as text. Default: node:fs. */
  readFile?: (path: string) => Promise<string>;
};

/**
 * The bearer authgate presents to the API server, read from a file the kubelet rotates (a
 * projected token is rewritten at 80 % of its life; one read once breaks about an hour later).
 *
 * `get()` returns the cached token, re-reading the file when its mtime, size or inode changed (a
 * `stat` at most every {@link REVIEWER_TOKEN_STAT_MS}) or when the last read is {@link REVIEWER_TOKEN_RELOAD_MS} old; `get(true)`
 * re-reads unconditionally (after a 401). Concurrent re-reads are coalesced. If a re-read fails
 * the previous token is kept (and logged); with no token at all it rejects `UNAVAILABLE`.
 */
export const createReviewerToken = (path: string, deps: ReviewerTokenDeps) => {
  const read = deps.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  const { clock, log } = deps;
  let token: string | undefined;
  let version: string | undefined;
  let readAtMs = 0;
  let checkedAtMs = 0;
  const flight = createSingleFlight<string>();

  const versionOf = async (): Promise<string | undefined> => {
    try {
      const st = await stat(path);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return undefined; // an injected reader may not be backed by a file: rely on the period
    }
  };

  const reload = (): Promise<string> =>
    flight.run('reviewer', async () => {
      const v = await versionOf();
      const text = (await read(path)).trim();
      if (text === '') throw new Error('file is empty');
      token = text;
      version = v;
      readAtMs = clock.nowMs();
      checkedAtMs = readAtMs;
      return text;
    });

  return {
    async get(force = false): Promise<string> {
      const now = clock.nowMs();
      if (token !== undefined && !force && now - readAtMs < REVIEWER_TOKEN_RELOAD_MS) {
        if (now - checkedAtMs < REVIEWER_TOKEN_STAT_MS) return token;
        checkedAtMs = now;
        if ((await versionOf()) === version) return token;
      }
      try {
        return await reload();
      } catch (err) {
        const why = (err as Error).message;
        if (token !== undefined) {
          log.warn(
            { event: 'tokenreview.reviewer_token_unreadable', path, err: why },
            'tokenreview.reviewer_token_unreadable',
          );
          return token;
        }
        throw unavailable(
          'cannot read the token reviewer JWT file',
          'tokenreview_reviewer_token_unreadable',
          err,
        );
      }
    },
  };
};
export type ReviewerToken = ReturnType<typeof createReviewerToken>;

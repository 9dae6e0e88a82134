import { randomBytes } from 'node:crypto';
import { chmod, readFile as fsReadFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fingerprint } from '../lib/hash.js';
import type { AuthgateClient } from './client.js';

/** Waits between failed logins: from 1 s, doubling, at most 5 min (Vault Agent's auto-auth backoff). */
export const MIN_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 300_000;
/** A client token is renewed (or replaced) when this share of its lease has passed, as Vault's lifetime watcher does. */
export const RENEW_AT_SHARE = 2 / 3;

export type AgentOptions = {
  /** The auth mount to log in at, without `auth/` (`kubernetes`). */
  mount: string;
  role: string;
  /** The projected service-account token's file, re-read at every login (the kubelet rotates it). */
  jwtFile: string;
  /** Files the client token is written to (atomically: a reader never sees half a token). */
  sinks: readonly string[];
  /** Mode of the sink files. */
  sinkMode: number;
  /** Revoke the client token when stopped (the pod is going away: nobody needs it any more). */
  revokeOnStop: boolean;
};

/** The slice of pino the agent logs through; events are fixed names, never a token. */
export type AgentLog = {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
};

export type AgentDeps = {
  client: Pick<AuthgateClient, 'call'>;
  log: AgentLog;
  /** Reads the JWT file. Default: node:fs. */
  readFile?: (path: string) => Promise<string>;
  /** A number in [0, 1) for the jitter of waits. Default: Math.random. */
  random?: () => number;
};

type Held = { token: string; leaseSeconds: number; renewable: boolean };

/** The first of Vault's `errors`, or the status: what a failed call says, for the log. */
const reasonOf = (status: number, json: unknown): string => {
  const errors = (json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : `HTTP ${status}`;
};

/**
 * The sidecar's loop (`authgate agent`): logs in with the pod's projected token, writes the
 * client token to the sinks, renews it at two thirds of its lease, and logs in again (with the
 * token file as it is then) when the token cannot be renewed any further, was revoked, or is not
 * renewable at all (batch tokens). A login that fails is tried again after 1 s, 2 s, 4 s … at most
 * 5 min (with ±10 % jitter), the sinks keeping the last token meanwhile.
 *
 * `start()` resolves once the first token is in the sinks (rejects only when stopped before);
 * `stop()` ends the loop and, with `revokeOnStop`, revokes the token it holds (once, best effort).
 */
export const createAgent = (options: AgentOptions, deps: AgentDeps) => {
  const read = deps.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  const random = deps.random ?? Math.random;
  const { client, log } = deps;
  let held: Held | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failures = 0;
  let firstToken: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const first = new Promise<void>((resolve, reject) => {
    firstToken = { resolve, reject };
  });
  // Stopped before anyone awaited start(): not an unhandled rejection.
  first.catch(() => undefined);

  // The step (login or renewal) running now: stop() waits for it, so that a token issued while
  // stopping is seen (and revoked with revokeOnStop) rather than dropped with the connection.
  let inflight: Promise<void> | undefined;
  const track = (step: () => Promise<void>): void => {
    const p = step().finally(() => {
      if (inflight === p) inflight = undefined;
    });
    inflight = p;
  };

  const jitter = (ms: number): number => Math.round(ms * (0.9 + 0.2 * random()));
  const schedule = (ms: number, step: () => Promise<void>) => {
    if (stopped) return;
    clearTimeout(timer);
    // Node fires a timer of more than 2^31 − 1 ms at once: a lease of a month or more waits its
    // share in that many steps' worth, never zero.
    timer = setTimeout(() => track(step), Math.min(Math.max(0, ms), 2 ** 31 - 1));
  };

  /** Some sinks hold the new token already: it is in use, and is not revoked. */
  class PartialWrite extends Error {}

  /**
   * Writes `token` to every sink: each to a new file beside its sink, and only when all are
   * written, each renamed over its sink. The application reads the old token or the new one,
   * never a file cut short. A failure before the first rename leaves every sink as it was; one
   * after it throws {@link PartialWrite}.
   */
  const writeSinks = async (token: string): Promise<void> => {
    const temps = options.sinks.map(
      (sink) =>
        [join(dirname(sink), `.${basename(sink)}.${randomBytes(6).toString('hex')}.tmp`), sink] as const,
    );
    try {
      for (const [temp] of temps) {
        await writeFile(temp, token, { mode: options.sinkMode, flag: 'wx' });
        await chmod(temp, options.sinkMode); // the umask may have narrowed it
      }
      let renamed = 0;
      try {
        for (const [temp, sink] of temps) {
          await rename(temp, sink);
          renamed++;
        }
      } catch (err) {
        if (renamed > 0) throw new PartialWrite((err as Error).message, { cause: err });
        throw err;
      }
    } catch (err) {
      await Promise.all(temps.map(([temp]) => rm(temp, { force: true })));
      throw err;
    }
  };

  const retryLogin = (why: string) => {
    failures++;
    const waitMs = jitter(Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (failures - 1)));
    log.warn(
      {
        event: 'agent.login_failed',
        mount: options.mount,
        role: options.role,
        reason: why,
        retryInMs: waitMs,
      },
      'agent.login_failed',
    );
    schedule(waitMs, login);
  };

  /** What to do next with a token whose lease is `leaseSeconds` from now. */
  const next = (h: Held, renewedShort: boolean) => {
    // A token without expiry (or an answer without a usable lease): nothing to schedule.
    if (!Number.isFinite(h.leaseSeconds) || h.leaseSeconds <= 0) return;
    const waitMs = jitter(h.leaseSeconds * 1000 * RENEW_AT_SHARE);
    schedule(waitMs, h.renewable && !renewedShort ? renew : login);
  };

  const login = async (): Promise<void> => {
    if (stopped) return;
    let jwt: string;
    try {
      jwt = (await read(options.jwtFile)).trim();
      if (jwt === '') throw new Error('the file is empty');
    } catch (err) {
      retryLogin(`cannot read the JWT file ${options.jwtFile}: ${(err as Error).message}`);
      return;
    }
    let answer;
    try {
      answer = await client.call('POST', `/v1/auth/${options.mount}/login`, {
        body: { role: options.role, jwt },
      });
    } catch (err) {
      retryLogin((err as Error).message);
      return;
    }
    const auth = (answer.json as { auth?: Record<string, unknown> } | undefined)?.auth;
    const token = auth?.['client_token'];
    if (answer.status !== 200 || typeof token !== 'string' || token === '') {
      retryLogin(reasonOf(answer.status, answer.json));
      return;
    }
    if (stopped) {
      // Stopped while logging in: the new token is nobody's.
      if (options.revokeOnStop) await revoke(token);
      return;
    }
    const h: Held = {
      token,
      leaseSeconds: Number(auth?.['lease_duration'] ?? 0),
      renewable: auth?.['renewable'] === true,
    };
    try {
      await writeSinks(token);
    } catch (err) {
      // Nobody will have this token: revoke it rather than leave it live until its TTL. Unless a
      // sink holds it already: then it is in use, and the next login replaces it everywhere.
      if (!(err instanceof PartialWrite)) await revoke(token);
      retryLogin(`cannot write the sink: ${(err as Error).message}`);
      return;
    }
    if (stopped) {
      // Stopped while the sinks were written: the token is the application's last, and the
      // stop did not see it.
      if (options.revokeOnStop) await revoke(token);
      return;
    }
    held = h;
    failures = 0;
    log.info(
      {
        event: 'agent.authenticated',
        mount: options.mount,
        role: options.role,
        tokenFingerprint: fingerprint(token),
        leaseSeconds: h.leaseSeconds,
        renewable: h.renewable,
      },
      'agent.authenticated',
    );
    firstToken?.resolve();
    next(h, false);
  };

  const renew = async (): Promise<void> => {
    const h = held;
    if (stopped || h === undefined) return;
    // authgate unreachable or failing (5xx): a login now would fail as well; the renewal is tried
    // again soon, still within the lease (once the token has expired, the answer is a 403).
    const retryRenewal = (reason: string) => {
      log.warn({ event: 'agent.renew_failed', reason }, 'agent.renew_failed');
      schedule(jitter(Math.min(MAX_BACKOFF_MS, (h.leaseSeconds * 1000) / 6)), renew);
    };
    let answer;
    try {
      answer = await client.call('POST', '/v1/auth/token/renew-self', {
        token: h.token,
        body: { increment: `${h.leaseSeconds}s` },
      });
    } catch (err) {
      retryRenewal((err as Error).message);
      return;
    }
    if (answer.status >= 500) {
      retryRenewal(reasonOf(answer.status, answer.json));
      return;
    }
    const auth = (answer.json as { auth?: Record<string, unknown> } | undefined)?.auth;
    if (answer.status !== 200 || auth === undefined || auth === null) {
      // Revoked, expired, or not renewable after all: a new token, with the token file as it is now.
      log.warn(
        { event: 'agent.renew_failed', reason: reasonOf(answer.status, answer.json) },
        'agent.renew_failed',
      );
      await login();
      return;
    }
    const leaseSeconds = Number(auth['lease_duration'] ?? 0);
    // A renewal that gave less than asked has met the token's max TTL: renewing again would not
    // extend it, so the next step is a new login before it expires.
    const short = leaseSeconds < h.leaseSeconds;
    held = { ...h, leaseSeconds, renewable: auth['renewable'] === true };
    log.info({ event: 'agent.renewed', leaseSeconds, lastRenewal: short }, 'agent.renewed');
    next(held, short);
  };

  const revoke = async (token: string): Promise<void> => {
    try {
      const answer = await client.call('POST', '/v1/auth/token/revoke-self', { token });
      if (answer.status === 204 || answer.status === 200)
        log.info({ event: 'agent.revoked', tokenFingerprint: fingerprint(token) }, 'agent.revoked');
      else
        log.warn(
          { event: 'agent.revoke_failed', reason: reasonOf(answer.status, answer.json) },
          'agent.revoke_failed',
        );
    } catch (err) {
      log.warn({ event: 'agent.revoke_failed', reason: (err as Error).message }, 'agent.revoke_failed');
    }
  };

  return {
    /** Logs in (retrying as the loop does); resolves when the first token is in the sinks. */
    start(): Promise<void> {
      track(login);
      return first;
    },
    /** Ends the loop; with `revokeOnStop`, revokes the token held. */
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      // A login in flight finishes first: it sees `stopped` and revokes what it was given.
      await inflight?.catch(() => undefined);
      firstToken?.reject(new Error('stopped before the first token'));
      if (options.revokeOnStop && held !== undefined) await revoke(held.token);
    },
    /** The token held now (for tests); undefined before the first login. */
    token: (): string | undefined => held?.token,
  };
};
export type Agent = ReturnType<typeof createAgent>;

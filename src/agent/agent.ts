import { randomBytes } from 'node:crypto';
import * as fsPromises from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fingerprint } from '../lib/hash.js';
import type { AuthgateClient } from './client.js';

/** Waits between failed logins: from 1 s, doubling, at most 5 min (Vault Agent's auto-auth backoff). */
export const MIN_BACKOFF_MS = 1000;
export const MAX_BACKOFF_MS = 300_000;
/** A client token is renewed (or replaced) when this share of its lease has passed, as Vault's lifetime watcher does. */
export const RENEW_AT_SHARE = 2 / 3;
/**
 * A renewal that went unanswered (authgate unreachable, 5xx) is tried again after 10 s (or a
 * sixth of the lease, if shorter), doubling, at most 5 min; once the next try would come within
 * the last tenth of the lease, the agent logs in instead (Vault's lifetime watcher: its error
 * backoff ends within the lease's grace, and auto-auth logs in again).
 */
export const RENEW_RETRY_MS = 10_000;
export const RENEW_GRACE_SHARE = 1 / 10;
/** Node fires a timer of more than 2^31 − 1 ms at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

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
  /** Milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
  /** The file operations the sinks are written with. Default: node:fs/promises. */
  fs?: Pick<typeof fsPromises, 'writeFile' | 'chmod' | 'rename' | 'rm'>;
};

/** The token the agent keeps alive; `expiresAt` (ms) is when its last answer arrived plus the lease. */
type Held = { token: string; leaseSeconds: number; renewable: boolean; expiresAt: number };

/** A lease in an answer: a number of seconds, 0 for a token that never expires; else undefined. */
const leaseOf = (auth: Record<string, unknown>): number | undefined => {
  const lease = auth['lease_duration'];
  return typeof lease === 'number' && Number.isFinite(lease) && lease >= 0 ? lease : undefined;
};

/** The first of Vault's `errors`, or the status: what a failed call says, for the log. */
const reasonOf = (status: number, json: unknown): string => {
  const errors = (json as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : `HTTP ${status}`;
};

/**
 * The sidecar's loop (`authgate agent`): logs in with the pod's projected token, writes the
 * client token to the sinks, renews it at two thirds of its lease (asking for the role's TTL, as
 * Vault Agent does), and logs in again (with the token file as it is then) when the token cannot
 * be renewed any further, was revoked, is not renewable at all (batch tokens), or its renewals
 * went unanswered until the last tenth of its lease. A login that fails is tried again after 1 s,
 * 2 s, 4 s … at most 5 min (with ±10 % jitter), the sinks keeping the last token meanwhile. A sink
 * that cannot be written is tried again on the same backoff with the same token: a sink's trouble
 * never costs a new login (Vault Agent's sinks do the same).
 *
 * `start()` resolves once the first token is in the sinks (rejects only when stopped before);
 * `stop()` ends the loop and, with `revokeOnStop`, revokes the token it holds (once, best effort).
 */
export const createAgent = (options: AgentOptions, deps: AgentDeps) => {
  const read = deps.readFile ?? ((p: string) => fsPromises.readFile(p, 'utf8'));
  const { writeFile, chmod, rename, rm } = deps.fs ?? fsPromises;
  const random = deps.random ?? Math.random;
  const now = deps.now ?? Date.now;
  const { client, log } = deps;
  let held: Held | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sinkTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let loginFailures = 0;
  let renewFailures = 0;
  let sinkFailures = 0;
  let firstToken: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const first = new Promise<void>((resolve, reject) => {
    firstToken = { resolve, reject };
  });
  // Stopped before anyone awaited start(): not an unhandled rejection.
  first.catch(() => undefined);

  // The steps (a login or renewal, a sink write) running now: stop() waits for them, so that a
  // token issued while stopping is seen (and revoked with revokeOnStop) rather than dropped with
  // the connection.
  const inflight = new Set<Promise<void>>();
  const track = (step: () => Promise<void>): void => {
    const p: Promise<void> = step().finally(() => inflight.delete(p));
    inflight.add(p);
  };

  const jitter = (ms: number): number => Math.round(ms * (0.9 + 0.2 * random()));
  /** From `firstMs`, doubling with each failure, at most 5 min, jittered. */
  const backoff = (firstMs: number, failures: number): number =>
    jitter(Math.min(MAX_BACKOFF_MS, firstMs * 2 ** Math.min(failures - 1, 30)));
  const later = (previous: NodeJS.Timeout | undefined, ms: number, step: () => Promise<void>) => {
    clearTimeout(previous);
    return setTimeout(() => track(step), Math.min(Math.max(0, ms), MAX_TIMER_MS));
  };
  const schedule = (ms: number, step: () => Promise<void>) => {
    if (!stopped) timer = later(timer, ms, step);
  };

  /**
   * Writes `token` to every sink: each to a new file beside its sink, and only when all are
   * written, each renamed over its sink. The application reads the old token or the new one,
   * never a file cut short.
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
      for (const [temp, sink] of temps) await rename(temp, sink);
    } catch (err) {
      await Promise.all(temps.map(([temp]) => rm(temp, { force: true })));
      throw err;
    }
  };

  // Sink writes run one at a time, always of the token held when each starts: a write still
  // running when a new token arrives is followed by one of the new token, never the other way
  // round (an older token written last would sit in the sinks until the next login).
  let writing = false;
  let rewrite = false;
  /** The token last written to every sink. */
  let written: string | undefined;

  /** Puts the held token in the sinks, trying again on the login backoff until it is there. */
  const deliver = async (): Promise<void> => {
    rewrite = true;
    if (writing) return; // the write running now looks at `rewrite` once it is done
    writing = true;
    try {
      while (rewrite && !stopped && held !== undefined) {
        rewrite = false;
        const { token } = held;
        if (token === written) continue;
        try {
          await writeSinks(token);
        } catch (err) {
          if (stopped) return;
          if (rewrite || held?.token !== token) {
            rewrite = true; // a newer token: written now, this one no more
            continue;
          }
          sinkFailures++;
          const waitMs = backoff(MIN_BACKOFF_MS, sinkFailures);
          log.warn(
            { event: 'agent.sink_failed', reason: (err as Error).message, retryInMs: waitMs },
            'agent.sink_failed',
          );
          sinkTimer = later(sinkTimer, waitMs, deliver);
          return;
        }
        written = token;
        // Compared by token, not by record: a renewal replaces the record, not the token.
        if (held?.token !== token) {
          rewrite = true;
          continue;
        }
        sinkFailures = 0;
        log.info(
          {
            event: 'agent.authenticated',
            mount: options.mount,
            role: options.role,
            tokenFingerprint: fingerprint(token),
            leaseSeconds: held.leaseSeconds,
            renewable: held.renewable,
          },
          'agent.authenticated',
        );
        firstToken?.resolve();
      }
    } finally {
      writing = false;
    }
  };

  const retryLogin = (why: string) => {
    loginFailures++;
    const waitMs = backoff(MIN_BACKOFF_MS, loginFailures);
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

  /** What to do next with the token held, whose renewal may have met its max TTL (`renewedShort`). */
  const next = (h: Held, renewedShort: boolean) => {
    // A token that never expires: nothing to renew, held until the agent stops (the timer keeps
    // the process alive, as the loop does for any other token).
    if (h.leaseSeconds === 0) {
      const idle = async () => schedule(MAX_TIMER_MS, idle);
      void idle();
      return;
    }
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
    const auth = (answer.json as { auth?: Record<string, unknown> | null } | undefined)?.auth ?? undefined;
    const token = auth?.['client_token'];
    if (answer.status !== 200 || auth === undefined || typeof token !== 'string' || token === '') {
      retryLogin(reasonOf(answer.status, answer.json));
      return;
    }
    const leaseSeconds = leaseOf(auth);
    if (stopped || leaseSeconds === undefined) {
      // Stopped while logging in: the new token is nobody's. Or an answer no Vault gives: a token
      // whose lifetime is unknown is not handed to the application.
      if (leaseSeconds === undefined || options.revokeOnStop) await revoke(token);
      if (leaseSeconds === undefined) retryLogin('the answer has no lease_duration');
      return;
    }
    held = {
      token,
      leaseSeconds,
      renewable: auth['renewable'] === true,
      expiresAt: now() + leaseSeconds * 1000,
    };
    loginFailures = 0;
    renewFailures = 0;
    sinkFailures = 0;
    clearTimeout(sinkTimer);
    next(held, false);
    await deliver();
  };

  const renew = async (): Promise<void> => {
    const h = held;
    if (stopped || h === undefined) return;
    // authgate unreachable or failing (5xx): tried again on a backoff while the lease allows, then
    // a login (which, if authgate is still down, backs off in turn).
    const retryRenewal = async (reason: string): Promise<void> => {
      renewFailures++;
      const leaseMs = h.leaseSeconds * 1000;
      const waitMs = backoff(Math.min(RENEW_RETRY_MS, leaseMs / 6), renewFailures);
      const giveUp = now() + waitMs > h.expiresAt - leaseMs * RENEW_GRACE_SHARE;
      log.warn(
        { event: 'agent.renew_failed', reason, ...(giveUp ? { next: 'login' } : { retryInMs: waitMs }) },
        'agent.renew_failed',
      );
      if (giveUp) await login();
      else schedule(waitMs, renew);
    };
    let answer;
    try {
      answer = await client.call('POST', '/v1/auth/token/renew-self', {
        token: h.token,
        // As Vault Agent: no increment of its own, so the role's TTL as it is now applies (a
        // TTL the operator has cut reaches the running agents at their next renewal).
        body: { increment: 0 },
      });
    } catch (err) {
      await retryRenewal((err as Error).message);
      return;
    }
    if (answer.status >= 500) {
      await retryRenewal(reasonOf(answer.status, answer.json));
      return;
    }
    if (stopped || held !== h) return;
    const auth = (answer.json as { auth?: Record<string, unknown> | null } | undefined)?.auth ?? undefined;
    const leaseSeconds = auth === undefined ? undefined : leaseOf(auth);
    if (answer.status !== 200 || auth === undefined || leaseSeconds === undefined || leaseSeconds === 0) {
      // Revoked, expired, or not renewable after all (or an answer without a lease): a new token,
      // with the token file as it is now.
      log.warn(
        {
          event: 'agent.renew_failed',
          reason:
            answer.status === 200 ? 'the answer has no lease_duration' : reasonOf(answer.status, answer.json),
          next: 'login',
        },
        'agent.renew_failed',
      );
      await login();
      return;
    }
    renewFailures = 0;
    // A renewal that gave less than the lease before has met the token's max TTL (or the role's
    // TTL was cut): renewing again would not extend it, so the next step is a new login before
    // it expires.
    const short = leaseSeconds < h.leaseSeconds;
    held = {
      ...h,
      leaseSeconds,
      renewable: auth['renewable'] === true,
      expiresAt: now() + leaseSeconds * 1000,
    };
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
      clearTimeout(sinkTimer);
      // A step in flight finishes first: a login sees `stopped` and revokes what it was given.
      while (inflight.size > 0) await Promise.all([...inflight].map((p) => p.catch(() => undefined)));
      firstToken?.reject(new Error('stopped before the first token'));
      if (options.revokeOnStop && held !== undefined) await revoke(held.token);
    },
    /** The token held now (for tests); undefined before the first login. */
    token: (): string | undefined => held?.token,
  };
};
export type Agent = ReturnType<typeof createAgent>;

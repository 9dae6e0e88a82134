import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { LoginService } from '../../auth/index.js';
import { fingerprint } from '../../lib/hash.js';
import { createLogBudget } from '../../telemetry/index.js';
import type { TokenService } from '../../tokens/index.js';
import { AuthgateError } from '../../errors.js';
import { envelope } from '../envelope.js';
import { createLoginRateLimiter } from '../login-rate-limit.js';
import { missingBodyIsEmpty, reasonOf, statusOf } from '../vault-errors.js';

/** A login attempt's outcome, as reported to {@link LoginRouteDeps.onOutcome}. */
export type LoginRouteOutcome =
  | ReturnType<LoginService['outcomeOf']>
  | {
      mount: string;
      role: string;
      outcome: 'ok';
      reason: 'ok';
      /** The issued token's display name (`kubernetes-<namespace>-<service account>`), for the audit. */
      displayName: string;
    };

export type LoginRouteDeps = {
  login: Pick<LoginService, 'login' | 'outcomeOf'>;
  tokens: Pick<TokenService, 'authBlock'>;
  /** The configured mounts by path, each with its roles by (lowercase) name. */
  mounts: ReadonlyMap<string, { roles: ReadonlyMap<string, unknown> }>;
  /**
   * Called once per login attempt with its outcome (metrics, audit later). `role` is a role that
   * exists in the mount, or undefined: never the raw name a client sent, so it is safe as a
   * metric label. May throw or reject: the failure is logged (`login.outcome_hook_failed`) and
   * the login's answer is unchanged.
   */
  onOutcome?: (outcome: LoginRouteOutcome) => void;
  /** `listener.login_rate_limit`, with the clock its buckets refill by; undefined: no limit. */
  rateLimit?: { rate: number; intervalMs: number; nowMs: () => number };
};

/**
 * Each login request's outcome, for the audit and telemetry hooks, on the request itself under a
 * private symbol (as acl-route.ts keeps the caller). Not a WeakMap: an entry whose key dies
 * young costs the collector about 0.85 µs (an ephemeron to trace), measured on Node 20, against
 * a few ns for a property; this runs on every login.
 */
const OUTCOME = Symbol('authgate.loginOutcome');
type WithOutcome = FastifyRequest & { [OUTCOME]?: LoginRouteOutcome };

/**
 * The outcome of the login that `request` carried, once its route has run; undefined for any
 * other request, or a login refused before its handler (a body that is not JSON or fails the schema).
 */
export const loginOutcomeOf = (request: FastifyRequest): LoginRouteOutcome | undefined =>
  (request as WithOutcome)[OUTCOME];

// Types are checked by the service with Vault's messages (`missing role`); the schema only
// refuses values that are not strings, so a number never reaches the service. A JSON null is an
// absent field, as Vault's FieldData reads it: `missing role`, `missing jwt`.
const OptionalString = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const LoginBody = Type.Object({ role: OptionalString, jwt: OptionalString }, { additionalProperties: true });

/**
 * `login.denied` lines written per second at most; past that they are counted, and one
 * `login.denied_suppressed` line a second gives the count by reason (audit devices still record
 * every login).
 */
export const DENIED_LOG_LINES_PER_SECOND = 20;

/**
 * `POST|PUT /v1/auth/<mount>/login` for each configured mount (other methods are 405, app.ts).
 */
export const registerLoginRoutes = (app: FastifyInstance, deps: LoginRouteDeps): void => {
  const deniedLines = createLogBudget({
    perSecond: DENIED_LOG_LINES_PER_SECOND,
    // Monotonic: a wall clock stepped back would hold the budget spent for as long.
    nowMs: () => performance.now(),
    onSuppressed: ({ suppressed, reasons }) =>
      app.log.warn({ event: 'login.denied_suppressed', suppressed, reasons }, 'login.denied_suppressed'),
  });
  app.addHook('onClose', async () => deniedLines.flush());

  /** Telemetry never throws into its host: a failing hook cannot change a login's answer. */
  const report = (request: FastifyRequest, outcome: LoginRouteOutcome): void => {
    (request as WithOutcome)[OUTCOME] = outcome;
    if (deps.onOutcome === undefined) return;
    const failed = (err: unknown) =>
      request.log.error({ event: 'login.outcome_hook_failed', err }, 'login.outcome_hook_failed');
    try {
      const result = deps.onOutcome(outcome) as unknown;
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  };

  // One bucket per client address for the logins of every mount.
  const limiter =
    deps.rateLimit === undefined ? undefined : createLoginRateLimiter(deps.rateLimit, deps.rateLimit.nowMs);

  for (const [mountPath, mount] of deps.mounts) {
    /** The role name if the mount has it (the service lowercases it); otherwise undefined. */
    const knownRole = (role: string | undefined): string | undefined =>
      role !== undefined && mount.roles.has(role) ? role : undefined;

    app.route({
      method: ['POST', 'PUT'],
      url: `/v1/auth/${mountPath}/login`,
      // Before the body is read, as Vault applies its quotas before the request reaches the mount:
      // Vault's status, message and Retry-After.
      ...(limiter === undefined
        ? {}
        : {
            onRequest: (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
              const waitMs = limiter.take(request.ip);
              if (waitMs === 0) {
                done();
                return;
              }
              reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
              done(
                new AuthgateError('RATE_LIMITED', {
                  message: `request path "auth/${mountPath}/login": rate limit quota exceeded`,
                  reason: 'rate_limited',
                }),
              );
            },
          }),
      preValidation: missingBodyIsEmpty,
      schema: { body: LoginBody },
      // A login refused before its handler ran (a body that is not JSON, fails the schema or is
      // too large; an audit outage) is an attempt too: counted, with the reason it was refused.
      onError: (request, _reply, err, done) => {
        if (loginOutcomeOf(request) === undefined) {
          const claimed = (request.body as { role?: unknown } | undefined)?.role;
          const status = statusOf(err);
          report(request, {
            mount: mountPath,
            role: typeof claimed === 'string' ? knownRole(claimed.toLowerCase()) : undefined,
            outcome: status === 403 ? 'denied' : 'error',
            reason: reasonOf(err, status),
          });
        }
        done();
      },
      handler: async (request, reply) => {
        const body = (request.body ?? {}) as { role?: string | null; jwt?: string | null };
        try {
          const result = await deps.login.login(mountPath, body, {
            remoteAddress: request.ip,
            requestId: request.id,
          });
          report(request, {
            mount: mountPath,
            role: result.role.name,
            outcome: 'ok',
            reason: 'ok',
            displayName: result.issued.record.displayName,
          });
          return reply.send(
            envelope(request.id, {
              auth: deps.tokens.authBlock(result.issued.record, result.issued.clientToken),
              warnings: result.issued.warnings,
              mountType: result.mount.type,
            }),
          );
        } catch (err) {
          const classified = deps.login.outcomeOf(mountPath, body, err);
          const outcome = { ...classified, role: knownRole(classified.role) };
          report(request, outcome);
          const e = err as { detail?: string };
          if (!deniedLines.take(outcome.reason)) throw err;
          // On the server's logger with the request id, as the request's own child would write
          // it: making that child (pino runs its bindings through the redaction) cost a refusal
          // about 4 µs more than the line itself.
          app.log.warn(
            {
              reqId: request.id,
              event: 'login.denied',
              mount: mountPath,
              role: outcome.role,
              reason: outcome.reason,
              detail: e.detail,
              // Correlates the attempts of one token without writing it (redaction would
              // censor a field named `jwt`).
              jwtFingerprint:
                typeof body.jwt === 'string' && body.jwt !== '' ? fingerprint(body.jwt) : undefined,
            },
            'login.denied',
          );
          throw err;
        }
      },
    });
  }
};

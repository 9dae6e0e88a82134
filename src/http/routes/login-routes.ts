import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { LoginService } from '../../auth/index.js';
import type { TokenService } from '../../tokens/index.js';
import { envelope } from '../envelope.js';

export type LoginRouteDeps = {
  login: Pick<LoginService, 'login' | 'outcomeOf'>;
  tokens: Pick<TokenService, 'authBlock'>;
  mountPaths: readonly string[];
  /** Called once per login attempt with its outcome (metrics, audit later). Never throws. */
  onOutcome?: (
    outcome:
      ReturnType<LoginService['outcomeOf']> | { mount: string; role: string; outcome: 'ok'; reason: 'ok' },
  ) => void;
};

// Types are checked by the service with Vault's messages (`missing role`); the schema only
// refuses values that are not strings, so a number never reaches the service.
const LoginBody = Type.Object(
  { role: Type.Optional(Type.String()), jwt: Type.Optional(Type.String()) },
  { additionalProperties: true },
);

/** `POST|PUT /v1/auth/<mount>/login` for each configured mount. */
export const registerLoginRoutes = (app: FastifyInstance, deps: LoginRouteDeps): void => {
  for (const mountPath of deps.mountPaths) {
    app.route({
      method: ['POST', 'PUT'],
      url: `/v1/auth/${mountPath}/login`,
      schema: { body: LoginBody },
      handler: async (request, reply) => {
        const body = (request.body ?? {}) as { role?: string; jwt?: string };
        try {
          const result = await deps.login.login(mountPath, body, {
            remoteAddress: request.ip,
            requestId: request.id,
          });
          deps.onOutcome?.({ mount: mountPath, role: result.role.name, outcome: 'ok', reason: 'ok' });
          return reply.send(
            envelope(request.id, {
              auth: deps.tokens.authBlock(result.issued.record, result.issued.clientToken),
              warnings: result.issued.warnings,
              mountType: 'kubernetes',
            }),
          );
        } catch (err) {
          const outcome = deps.login.outcomeOf(mountPath, body, err);
          deps.onOutcome?.(outcome);
          const e = err as { detail?: string };
          request.log.warn(
            {
              event: 'login.denied',
              mount: mountPath,
              role: outcome.role,
              reason: outcome.reason,
              detail: e.detail,
            },
            'login.denied',
          );
          throw err;
        }
      },
    });
  }
};

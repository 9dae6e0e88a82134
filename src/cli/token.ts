import { readFileSync } from 'node:fs';
import { createAuthgateClient } from '../agent/index.js';
import { printable } from '../lib/printable.js';
import {
  errorsText,
  integerFlag,
  parseFlags,
  runCommand,
  UsageError,
  vaultAddressOf,
  type CommandIo,
} from './command.js';
import { TOKEN_USAGE } from './usages.js';

const OPTIONS = {
  address: { type: 'string' },
  'token-file': { type: 'string' },
  'ca-cert': { type: 'string' },
  timeout: { type: 'string', default: '10' },
  json: { type: 'boolean', default: false },
  accessor: { type: 'string' },
  namespace: { type: 'string' },
  'service-account': { type: 'string' },
  'pod-uid': { type: 'string' },
  mount: { type: 'string' },
  role: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>;

/** The flags each subcommand takes besides the connection's (`--address` … `--json`). */
const OWN_FLAGS: Record<string, readonly (keyof Values)[]> = {
  lookup: ['accessor'],
  revoke: ['accessor'],
  'revoke-identity': ['namespace', 'service-account', 'pod-uid', 'mount', 'role'],
};
const CONNECTION_FLAGS = new Set<keyof Values>(['address', 'token-file', 'ca-cert', 'timeout', 'json']);

/** The body of `auth/token/revoke-identity`: exactly one of a service account, a pod, a role. */
const revocationTarget = (v: Values): Record<string, string> => {
  const targets = [
    v.namespace !== undefined || v['service-account'] !== undefined
      ? { namespace: v.namespace, service_account: v['service-account'] }
      : undefined,
    v['pod-uid'] !== undefined ? { pod_uid: v['pod-uid'] } : undefined,
    v.mount !== undefined || v.role !== undefined ? { mount: v.mount, role: v.role } : undefined,
  ].filter((t) => t !== undefined);
  if (targets.length !== 1)
    throw new UsageError(
      'name exactly one of --namespace with --service-account, --pod-uid, or --mount with --role',
    );
  const target: Record<string, string | undefined> = targets[0] ?? {};
  for (const [key, value] of Object.entries(target)) {
    if (value === undefined || value === '')
      throw new UsageError(`--${key.replace('_', '-')}: required with it`);
  }
  return target as Record<string, string>;
};

/** What a lookup prints: the token's data, never the token itself (a self-lookup's `id`). */
const withoutToken = (data: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(data).filter(([key]) => key !== 'id'));

/**
 * `authgate token …`: an operator's token commands against a running authgate, for what the vault
 * CLI has no command for (`revoke-identity`, authgate's own) or needs a token on its command
 * line for: the caller's token comes from `--token-file` or `VAULT_TOKEN`, a token to act on is
 * named by its accessor, and no token is ever printed. Resolves the exit code: 0, 1 when
 * authgate refused or could not be reached, 2 for a usage mistake (0 for `--help`).
 */
export const runToken = async (
  argv: string[],
  io: CommandIo & { env?: NodeJS.ProcessEnv },
): Promise<number> => {
  const [command, ...rest] = argv;
  const env = io.env ?? process.env;
  return runCommand(
    'authgate token',
    TOKEN_USAGE,
    async () => {
      const v = parseFlags(command?.startsWith('-') === true ? argv : rest, OPTIONS);
      const own = command === undefined ? undefined : OWN_FLAGS[command];
      if (own === undefined)
        throw new UsageError(
          command === undefined || command.startsWith('-')
            ? 'give a command: lookup, revoke or revoke-identity'
            : `unknown command ${JSON.stringify(command)}`,
        );
      for (const flag of Object.keys(v) as (keyof Values)[]) {
        if (!CONNECTION_FLAGS.has(flag) && !own.includes(flag))
          throw new UsageError(`--${flag}: not an option of ${command}`);
      }
      // Each value is checked before what is required: a mistake is named as such.
      const timeoutMs = integerFlag(v.timeout, '--timeout', { min: 1, max: 3600, unit: 'seconds' }) * 1000;
      const address = vaultAddressOf(v.address, env['VAULT_ADDR']);
      if (v.accessor === '') throw new UsageError('--accessor: must not be empty');
      if (command === 'revoke' && v.accessor === undefined)
        throw new UsageError('--accessor: required (the token to revoke, by its accessor)');
      const target = command === 'revoke-identity' ? revocationTarget(v) : undefined;
      const readFile = (path: string, what: string) => {
        try {
          return readFileSync(path, 'utf8');
        } catch (err) {
          throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
        }
      };
      const token = (
        v['token-file'] !== undefined
          ? readFile(v['token-file'], 'the token file')
          : (env['VAULT_TOKEN'] ?? '')
      ).trim();
      if (token === '') throw new UsageError('give the token to act with, with --token-file or VAULT_TOKEN');
      const caFile = v['ca-cert'] ?? env['VAULT_CACERT'];
      const caCert = caFile !== undefined && caFile !== '' ? readFile(caFile, 'the CA file') : undefined;

      const client = createAuthgateClient({ address, caCert, timeoutMs });
      try {
        const [method, path, body] =
          command === 'lookup'
            ? v.accessor === undefined
              ? (['GET', '/v1/auth/token/lookup-self', undefined] as const)
              : (['POST', '/v1/auth/token/lookup-accessor', { accessor: v.accessor }] as const)
            : command === 'revoke'
              ? (['POST', '/v1/auth/token/revoke-accessor', { accessor: v.accessor }] as const)
              : (['POST', '/v1/auth/token/revoke-identity', target] as const);
        const res = await client
          .call(method, path, { token, ...(body === undefined ? {} : { body }) })
          .catch((err: unknown) => {
            // The client's message names the address (`cannot reach authgate at …`), never a token.
            throw new Error(`${(err as Error).message}: give its address with --address URL or VAULT_ADDR`, {
              cause: err,
            });
          });
        const answer = (res.json ?? {}) as {
          data?: Record<string, unknown> | null;
          errors?: unknown[];
          warnings?: unknown[];
        };
        // Only a 2xx did what was asked: a redirect (not followed: the token would go along) did not.
        if (res.status >= 300 && res.status < 400)
          throw new Error(`${res.status}: authgate answered with a redirect; is the address https://?`);
        if (res.status >= 400) throw new Error(`${res.status}: ${errorsText(answer.errors) || 'no message'}`);
        // Vault answers a revocation of an accessor it does not know 200, with a warning: nothing was revoked.
        if (command === 'revoke' && res.status !== 204)
          throw new Error(
            `no token revoked: ${printable((answer.warnings ?? []).map(String).join(', ')) || `authgate answered ${res.status}`}`,
          );
        const data = answer.data ?? {};
        if (command === 'lookup') io.stdout.write(`${JSON.stringify(withoutToken(data), null, 2)}\n`);
        else if (v.json) io.stdout.write(`${JSON.stringify(data)}\n`);
        else if (command === 'revoke') io.stdout.write(`revoked the token of accessor ${v.accessor ?? ''}\n`);
        else
          io.stdout.write(
            `revoked ${String(data['revoked_tokens'] ?? 0)} tokens; dropped ${String(data['invalidated_reviews'] ?? 0)} cached verifications\n`,
          );
        return 0;
      } finally {
        client.close();
      }
    },
    io,
  );
};

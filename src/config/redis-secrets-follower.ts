import { createFileFollower } from './file-follower.js';
import { readRedisSecrets, type RedisSecrets } from './store-config.js';
import type { RedisSecretFiles } from './types.js';

/** The fields of `store.redis` whose files are followed, by what they hold. */
const FIELDS: { readonly [K in keyof RedisSecretFiles]-?: string } = {
  password: 'password_file',
  sentinelPassword: 'sentinel_password_file',
  ca: 'tls.ca_file',
  cert: 'tls.cert_file',
  key: 'tls.key_file',
};

/**
 * Follows the secret files of `store.redis` (its passwords, its CA bundle, its client certificate
 * and key) as a secret manager or cert-manager rotates them, and gives what changed to `apply`
 * (the store's `setCredentials`): the next connection to Redis, after a restart, a failover or a
 * network blip, presents it; open connections keep theirs. Looks as {@link createFileFollower}
 * says (on SIGHUP, and every interval when the files changed). What is read passes the checks of
 * start ({@link readRedisSecrets}: no empty password, a CA that parses, a certificate and key that
 * parse and match) or is refused: the credentials in force stay, and
 * `store.credentials_reload_failed` (error) names the fields and files, never their content.
 * Returns `undefined` when no secret file is configured.
 */
export const createRedisSecretsFollower = (
  files: RedisSecretFiles,
  inForce: RedisSecrets,
  deps: {
    apply: (secrets: RedisSecrets) => void;
    log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  },
) => {
  const paths = Object.values(files).filter((p): p is string => p !== undefined);
  if (paths.length === 0) return undefined;
  let current = inForce;
  return createFileFollower({
    paths,
    read: async () => {
      const problems: string[] = [];
      const secrets = readRedisSecrets(files, (at, message) => problems.push(`${at}: ${message}`));
      return { secrets, problems };
    },
    apply: ({ secrets, problems }, trigger) => {
      if (problems.length > 0) return problems.join('; ');
      // Field by field: what is in force at start is the whole `store.redis` (its URL, timeouts,
      // file names), never deep-equal to what the files hold though they hold the same.
      const changed = (Object.keys(FIELDS) as Array<keyof RedisSecretFiles>)
        .filter((k) =>
          k === 'password' || k === 'sentinelPassword'
            ? current[k] !== secrets[k]
            : current.tls?.[k] !== secrets.tls?.[k],
        )
        .map((k) => `store.redis.${FIELDS[k]}`);
      if (changed.length === 0) return undefined;
      deps.apply(secrets);
      current = secrets;
      // Which fields changed, never what they hold.
      deps.log.info({ event: 'store.credentials_reloaded', trigger, changed }, 'store.credentials_reloaded');
      return undefined;
    },
    onFailure: (trigger, reason) =>
      deps.log.error(
        { event: 'store.credentials_reload_failed', trigger, reason },
        'store.credentials_reload_failed',
      ),
  });
};

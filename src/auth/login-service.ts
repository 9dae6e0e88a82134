import { LRUCache } from 'lru-cache';
import { createHmac } from 'node:crypto';
import type { AuthMountConfig, KubernetesMountConfig, TokenRoleConfig } from '../config/index.js';
import { AuthgateError, badRequest, permissionDenied } from '../errors.js';
import { parseLoginClaims, validateClaims, type Identity, type UnverifiedClaims } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { createCidrSet, type CidrSet } from '../lib/cidr.js';
import { deriveKey, fingerprint, hmacB64 } from '../lib/hash.js';
import { containsJwtShape, withoutWhiteSpace } from '../lib/jwt-shape.js';
import { truncate } from '../lib/truncate.js';
import type { Logger } from '../telemetry/index.js';
import {
  BATCH_PREFIX,
  TOKEN_PREFIX,
  type IssueInput,
  type IssuedToken,
  type RevocationIndex,
  type TokenRecord,
} from '../tokens/index.js';
import type { NamespaceLabels, Verifier } from '../verify/index.js';
import { createJwtLogin, type JwtMount } from './jwt-login.js';
import { outcomeOf, rememberClaims } from './login-outcome.js';
import { checkNamespaceSelector, checkServiceAccountBinding, loginIssueInput } from './role-binding.js';

/**
 * Something shaped like a credential: an authgate client token, a Vault token (a client moving
 * from Vault holds one), a JWT. Only its shape is looked at, never whether it is live.
 */
const TOKEN_SHAPE = new RegExp(
  `(?:${[TOKEN_PREFIX, BATCH_PREFIX].map((p) => p.replace('.', '\\.')).join('|')}|hv[sbr]\\.)[A-Za-z0-9_-]{20}`,
);
// A JWT is looked for without a regular expression: one restarted at each `eyJ` of a long role
// name is quadratic in it (see containsJwtShape).
const holdsToken = (value: string): boolean => TOKEN_SHAPE.test(value) || containsJwtShape(value);

/**
 * A configured kubernetes mount: its config, the verifier built for it, and (when it has an API
 * server and a reviewer token) the reader of namespaces' labels that roles with a selector need.
 */
export type KubernetesMount = {
  kind?: 'kubernetes';
  config: KubernetesMountConfig;
  verifier: Pick<Verifier, 'verify'>;
  namespaces?: Pick<NamespaceLabels, 'labelsOf'>;
};

/** A configured auth mount, of either type. */
export type Mount = KubernetesMount | JwtMount;

export type LoginDeps = {
  mounts: ReadonlyMap<string, Mount>;
  tokens: { issue(input: IssueInput): Promise<IssuedToken> };
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'debug' | 'isLevelEnabled'>;
  /**
   * The server key. Entity ids and token digests (the names caches give a JWT) are HMACs keyed
   * from it, so every replica computes the same ones.
   */
  serverKey: Buffer;
  /**
   * Whether a value is a secret of this server that has no shape of its own (the admin token,
   * which the operator chooses): never quoted in an answer. Asked only of a login being refused.
   */
  isSecret?: (value: string) => boolean;
};

export type LoginInput = { role?: unknown; jwt?: unknown };
/**
 * Who asks: the peer address (undefined once the client's socket is gone: a role with bound CIDRs
 * then refuses the login) and the request id.
 */
export type LoginContext = { remoteAddress: string | undefined; requestId?: string };

/** A login's token, with the role and mount it was issued under. */
export type LoginResult = {
  issued: IssuedToken;
  role: TokenRoleConfig;
  mount: AuthMountConfig;
};

/**
 * A deterministic UUID-shaped id for the workload's entity (Vault creates one per alias and
 * mount): an HMAC under `key` (the server key) of the mount path and the alias name (the SA uid,
 * or `<namespace>/<name>` with `alias_name_source: serviceaccount_name`).
 */
export const entityId = (key: Buffer, mount: string, alias: string): string => {
  const h = createHmac('sha256', key).update(`entity\n${mount}\n${alias}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/**
 * The revocation indexes a login token is listed in, so that an operator can revoke every token
 * of a role, a service account or a pod at once (`POST /v1/auth/token/revoke-identity`).
 */
export const revocationIndexes = (mountPath: string, role: string, identity: Identity): RevocationIndex[] => [
  { kind: 'role', value: `${mountPath}/${role}` },
  { kind: 'sa', value: `${identity.namespace}/${identity.serviceAccount.name}` },
  ...(identity.pod === undefined ? [] : [{ kind: 'pod', value: identity.pod.uid }]),
];

/**
 * The kubernetes auth method's login, in Vault's order (vault-compat §1.3): input checks, role
 * lookup, bound CIDRs, claims parsed and checked on their face, service-account bindings — all
 * before any network call — then the verifier's proof, the role's namespace selector when the
 * namespace list did not admit the namespace, then a token is issued. A jwt mount's login is
 * Vault's JWT method's (jwt-login.ts), sharing the CIDR sets, entity ids and token issue.
 */
export const createLoginService = (deps: LoginDeps) => {
  // Keyed by the role itself, not its name: a reload (SIGHUP) puts new role objects in force, so
  // a role whose `token_bound_cidrs` changed never meets the old set, and a removed role's set
  // goes with it.
  const cidrCache = new WeakMap<TokenRoleConfig, CidrSet>();
  // Vault prefixes a login token's display name with its mount path, slashes made dashes
  // (request_handling.go handleLoginRequest): `k8s/prod` names tokens `k8s-prod-<ns>-<sa>`.
  const displayPrefixes = new Map([...deps.mounts.keys()].map((path) => [path, path.replaceAll('/', '-')]));
  // Entity ids are HMACs under the server key itself (ids already issued stay the same); token
  // digests under a key derived from it, so the two never share an HMAC key.
  const entityKey = deps.serverKey;
  const digestKey = deriveKey(deps.serverKey, 'authgate token digest');
  // The claims of tokens that have logged in, by digest. A pod presents the same token again and
  // again until the kubelet rotates it; its claims are a function of the string alone, so a
  // repeated login reuses them instead of decoding and parsing the payload again. Only tokens a
  // verifier proved are kept (a stream of junk tokens cannot evict them), and everything that
  // depends on the time or the role (validateClaims, the bindings) still runs on every login.
  const provenClaims = new LRUCache<string, UnverifiedClaims>({ max: 10_000 });
  // A workload logs in again and again (every token rotation, every restart): its entity id, an
  // HMAC, is computed once and kept (bounded) rather than on every login.
  const entityIds = new LRUCache<string, string>({ max: 10_000 });
  const entityIdOf = (mount: string, alias: string): string => {
    const key = `${mount}\n${alias}`;
    let id = entityIds.get(key);
    if (id === undefined) {
      id = entityId(entityKey, mount, alias);
      entityIds.set(key, id);
    }
    return id;
  };
  const cidrsOf = (role: TokenRoleConfig): CidrSet => {
    let set = cidrCache.get(role);
    if (set === undefined) {
      set = createCidrSet(role.tokenBoundCidrs);
      cidrCache.set(role, set);
    }
    return set;
  };

  /** A role name as an answer may quote it: bounded, and never a token or a secret of this server. */
  const quotedRole = (roleName: string): string =>
    holdsToken(roleName) || deps.isSecret?.(roleName) === true
      ? 'not quoted: it holds a token'
      : truncate(roleName);

  const mountOf = (mountPath: string): Mount => {
    const mount = deps.mounts.get(mountPath);
    if (mount === undefined) {
      throw new AuthgateError('NOT_FOUND', {
        message: `no handler for route "auth/${mountPath}/login". route entry not found.`,
        reason: 'mount_not_found',
      });
    }
    return mount;
  };

  const jwtLogin = createJwtLogin({
    issue: (input) => deps.tokens.issue(input),
    nowMs: () => deps.clock.nowMs(),
    digestKey,
    cidrsOf,
    entityIdOf,
    displayPrefixOf: (path) => displayPrefixes.get(path) ?? path,
    quotedRole,
  });

  const login = (mountPath: string, input: LoginInput, ctx: LoginContext): Promise<LoginResult> => {
    const seen: { claims?: UnverifiedClaims } = {};
    return attempt(mountPath, input, ctx, seen).catch((err: unknown) => {
      if (seen.claims !== undefined) rememberClaims(err, seen.claims);
      throw err;
    });
  };

  const attempt = async (
    mountPath: string,
    input: LoginInput,
    ctx: LoginContext,
    seen: { claims?: UnverifiedClaims },
  ): Promise<LoginResult> => {
    const mount = mountOf(mountPath);
    if (mount.kind === 'jwt') return jwtLogin(mountPath, mount, input, ctx.remoteAddress, seen);
    if (typeof input.role !== 'string' || input.role === '') throw badRequest('missing role', 'missing_role');
    if (typeof input.jwt !== 'string' || input.jwt === '') throw badRequest('missing jwt', 'missing_jwt');
    const jwt = withoutWhiteSpace(input.jwt);
    const role = mount.config.roles.get(input.role.toLowerCase());
    // Vault's message, with the name bounded: a 1 MB name must not come back in the answer, and
    // through it into every audit entry. Nor a token sent where the role goes (a client that
    // swapped its settings, an operator who pasted the admin token): the message is audited in
    // clear.
    if (role === undefined)
      throw badRequest(`invalid role name "${quotedRole(input.role)}"`, 'role_not_found');
    const cfg = mount.config;

    if (role.tokenBoundCidrs.length > 0 && !cidrsOf(role).contains(ctx.remoteAddress)) {
      throw permissionDenied('cidr_not_allowed', `remote=${ctx.remoteAddress}`);
    }

    const tokenDigest = hmacB64(digestKey, jwt);
    const remembered = provenClaims.get(tokenDigest);
    const claims = remembered ?? parseLoginClaims(jwt);
    seen.claims = claims;
    validateClaims(claims, {
      algorithms: cfg.allowedAlgorithms,
      issuers: cfg.issuers,
      audience: role.audience,
      leewaySeconds: cfg.leewaySeconds,
      nowMs: deps.clock.nowMs(),
    });
    const saName = claims.serviceAccount?.name;
    const saUid = claims.serviceAccount?.uid;
    if (claims.namespace === undefined || saName === undefined || saUid === undefined) {
      // Not a service-account token: there is nothing to bind to.
      throw permissionDenied('not_a_service_account_token', 'no namespace/service account claims');
    }
    const namespaceListed = checkServiceAccountBinding(role, saName, claims.namespace);

    // Trust decision: only what the verifier proves is used from here on.
    const identity = await mount.verifier.verify({ jwt, tokenDigest, claims, audience: role.audience });
    if (
      identity.namespace !== claims.namespace ||
      identity.serviceAccount.name !== saName ||
      identity.serviceAccount.uid !== saUid
    ) {
      throw permissionDenied('identity_mismatch', 'verified identity differs from the token claims');
    }
    if (!namespaceListed) await checkNamespaceSelector(role, identity.namespace, mount.namespaces);
    // Shared by every later login with the token: frozen at the top (a deep freeze of the whole
    // payload cost about 2 µs a login, as much as parsing it); nothing downstream writes claims.
    if (remembered === undefined) provenClaims.set(tokenDigest, Object.freeze(claims));

    const alias =
      role.aliasNameSource === 'serviceaccount_name'
        ? `${identity.namespace}/${identity.serviceAccount.name}`
        : identity.serviceAccount.uid;
    const metadata: Record<string, string> = {
      role: role.name,
      service_account_name: identity.serviceAccount.name,
      service_account_namespace: identity.namespace,
      service_account_secret_name: identity.secretName ?? '',
      service_account_uid: identity.serviceAccount.uid,
    };
    if (identity.pod !== undefined) {
      metadata['pod_name'] = identity.pod.name;
      metadata['pod_uid'] = identity.pod.uid;
    }
    const issued = await deps.tokens.issue(
      loginIssueInput(mountPath, cfg, role, {
        metadata,
        displayName: `${displayPrefixes.get(mountPath) ?? mountPath}-${identity.namespace}-${identity.serviceAccount.name}`,
        entityId: entityIdOf(mountPath, alias),
        indexes: revocationIndexes(mountPath, role.name, identity),
      }),
    );
    // Only when debug is on: the fingerprint is a SHA-256 of the whole JWT, not free per login.
    if (deps.log.isLevelEnabled('debug')) {
      deps.log.debug(
        {
          event: 'login.succeeded',
          mount: mountPath,
          role: role.name,
          namespace: identity.namespace,
          serviceAccount: identity.serviceAccount.name,
          pod: identity.pod?.name,
          jwtFingerprint: fingerprint(jwt),
          requestId: ctx.requestId,
        },
        'login.succeeded',
      );
    }
    return { issued, role, mount: cfg };
  };

  /**
   * Re-reads the role of a token at renewal, as Vault's `pathLoginRenew` does: the TTLs come from
   * the role as it is now (after a reload, the new role's), and a deleted role stops renewals.
   * The token keeps the policies it was issued with, even when the role's have changed since:
   * Vault's kubernetes plugin compares no policies at renewal (unlike userpass or cert, which
   * refuse with "policies have changed, not renewing"). To take access from tokens already
   * issued, revoke them (`revoke-identity` by role).
   */
  const renewalTerms = async (record: Pick<TokenRecord, 'mountPath' | 'role'>) => {
    const mount = deps.mounts.get(record.mountPath);
    const role = mount?.config.roles.get(record.role);
    if (mount === undefined || role === undefined) {
      throw badRequest(`role ${record.role} does not exist during renewal`, 'role_gone');
    }
    return {
      ttlSeconds: role.tokenTtlSeconds,
      maxTtlSeconds: role.tokenMaxTtlSeconds,
      periodSeconds: role.tokenPeriodSeconds,
      // The mount's TTLs as configured now, as Vault's RenewToken reads them (sysView).
      mount: {
        defaultLeaseTtlSeconds: mount.config.defaultLeaseTtlSeconds,
        maxLeaseTtlSeconds: mount.config.maxLeaseTtlSeconds,
      },
    };
  };

  return { login, renewalTerms, outcomeOf };
};
export type LoginService = ReturnType<typeof createLoginService>;

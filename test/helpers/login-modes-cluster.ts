import { randomUUID } from 'node:crypto';
import type { DevCluster } from '../../src/devcluster/index.js';
import type { FakeClock } from '../../src/lib/clock.js';
import { recordSecrets } from './audit.js';
import { segment } from './harness.js';
import { AUDIENCES, type Scenario, type Tamper } from './login-modes-inputs.js';

/*
 * Plays a scenario of test/login-modes.test.ts against the simulated cluster: creates the
 * case's own objects (a fresh namespace per case, so no case sees another's deletions), sets up
 * the signing key, mints the token at the issuer's clock, edits it, deletes what the case
 * deletes, and moves the shared fake clock to the login instant. What it did comes back as facts
 * for the model.
 */

/** The path the jwks mount fetches keys from (the simulator counts requests per path). */
const JWKS_PATH = '/openid/v1/jwks';

/** The clusters a case may mint with: the gateway's own, one with its issuer but other keys, another issuer's. */
export type Clusters = { own: DevCluster; sameIssuer: DevCluster; otherIssuer: DevCluster };

export const decode = (part: string | undefined): Record<string, unknown> =>
  JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/**
 * The key set the jwks mount holds: the published set as of its last fetch. Fetches are seen in
 * the simulator's request counts (the mount's `max_age` is ten years in the test, so a fetch
 * happens only at the first login and when a token names a kid the mount does not hold, which it
 * awaits within that login).
 */
export const createHeldKeys = (cluster: DevCluster) => {
  const fetches = () => cluster.stats().byPath[JWKS_PATH] ?? 0;
  const published = () => new Set(cluster.jwks().keys.map((k) => (k as { kid: string }).kid));
  let seen = fetches();
  // Made before any key changes: whatever the mount fetched so far is what is published.
  let held = seen > 0 ? published() : new Set<string>();
  return {
    has: (kid: string) => held.has(kid),
    /** After a login through the jwks mount: if it fetched, it now holds what is published. */
    observe: () => {
      if (fetches() !== seen) held = published();
      seen = fetches();
    },
    published,
  };
};

/** The key that signs new tokens: the most recently added one still published. */
const signerKid = (cluster: DevCluster): string => (cluster.jwks().keys.at(-1) as { kid: string }).kid;

const objectNames = (s: Scenario, n: number) => ({
  namespace: `${s.namespacePrefix}-${n}`,
  serviceAccount: s.serviceAccount,
  pod: `pod-${n}`,
  secret: `sec-${n}`,
  node: `node-${n}`,
  legacySecret: `${s.serviceAccount}-token-${n}`,
});
type Names = ReturnType<typeof objectNames>;

/** Creates the case's objects in `cluster` and mints its token there (legacy: into its Secret). */
const createAndMint = async (cluster: DevCluster, s: Scenario, names: Names): Promise<string> => {
  const { namespace, serviceAccount } = names;
  cluster.createServiceAccount(namespace, serviceAccount);
  if (s.kind === 'legacy') return cluster.mintLegacyToken(namespace, serviceAccount, names.legacySecret);
  cluster.createNode(names.node);
  if (s.kind === 'pod')
    cluster.createPod({ namespace, name: names.pod, serviceAccount, nodeName: names.node });
  if (s.kind === 'secret') cluster.createSecret(namespace, names.secret);
  const { token } = await cluster.mintToken({
    namespace,
    serviceAccount,
    audiences: [...AUDIENCES[s.audiences]],
    expirationSeconds: s.expirationSeconds,
    ...(s.kind === 'pod' ? { pod: names.pod } : {}),
    ...(s.kind === 'secret' ? { secret: names.secret } : {}),
    ...(s.kind === 'node' ? { node: names.node } : {}),
  });
  return token;
};

/** The token with one claim or the header's alg changed, its signature kept. */
export const tampered = (jwt: string, t: Tamper): string => {
  if (t.kind === 'none') return jwt;
  const [h, p, sig] = jwt.split('.');
  if (t.kind === 'alg') return `${segment({ ...decode(h), alg: t.alg })}.${p}.${sig}`;
  const payload = decode(p);
  const k8s = payload['kubernetes.io'] as Record<string, Record<string, unknown>> | undefined;
  const flat = (key: string, value: string) => {
    payload[`kubernetes.io/serviceaccount/${key}`] = value;
  };
  switch (t.field) {
    case 'exp':
      payload['exp'] = Number(payload['exp'] ?? payload['iat'] ?? 0) + 86_400;
      break;
    case 'nbf':
      payload['nbf'] = Number(payload['exp'] ?? 0) + 3600;
      break;
    case 'namespace':
      if (k8s) k8s['namespace'] = 'team-elsewhere' as never;
      else flat('namespace', 'team-elsewhere');
      break;
    case 'sa':
      if (k8s?.['serviceaccount']) k8s['serviceaccount']['name'] = 'app-admin';
      else flat('service-account.name', 'app-admin');
      break;
    case 'aud':
      payload['aud'] = [...(Array.isArray(payload['aud']) ? payload['aud'] : []), 'vault'];
      break;
    case 'iss':
      payload['iss'] = 'https://evil.example.com';
      break;
    case 'pod':
      // A legacy token has no pod: its subject is changed instead.
      if (k8s) k8s['pod'] = { name: 'pod-other', uid: randomUUID() };
      else payload['sub'] = 'system:serviceaccount:team-elsewhere:app-admin';
      break;
    case 'sub':
      payload['sub'] = 'system:serviceaccount:kube-system:admin';
      break;
  }
  return `${h}.${segment(payload)}.${sig}`;
};

/** Deletes what the scenario deletes; whether the API server still finds the token's objects. */
const deleteObjects = async (
  cluster: DevCluster,
  s: Scenario,
  names: Names,
  minted: string,
  graceOverMs: boolean,
): Promise<boolean> => {
  const { namespace, serviceAccount } = names;
  switch (s.deletion) {
    case 'none':
      return true;
    case 'pod':
    case 'pod-terminating':
      if (s.kind !== 'pod') return true;
      cluster.deletePod(namespace, names.pod, { terminating: s.deletion === 'pod-terminating' });
      // A terminating pod's tokens stay valid for the API server's 60 s grace.
      return s.deletion === 'pod-terminating' && !graceOverMs;
    case 'sa':
    case 'sa-recreated':
      cluster.deleteServiceAccount(namespace, serviceAccount);
      if (s.deletion === 'sa-recreated') cluster.createServiceAccount(namespace, serviceAccount);
      return false;
    case 'secret':
      if (s.kind === 'secret') cluster.deleteSecret(namespace, names.secret);
      else if (s.kind === 'legacy') cluster.deleteSecret(namespace, names.legacySecret);
      else return true;
      return false;
    case 'node':
      if (s.kind !== 'node' && s.kind !== 'pod') return true;
      cluster.deleteNode(names.node);
      // A pod-bound token's node is only copied from the pod, never checked.
      return s.kind === 'pod';
    case 'namespace':
      cluster.deleteNamespace(namespace);
      return false;
    case 'legacy-reminted': {
      if (s.kind !== 'legacy') return true;
      // The Secret's token is minted again: RS256 signs the same claims to the same bytes, so only
      // a token of another key (or ES256, whose signatures are randomized) stops matching it.
      const again = await cluster.mintLegacyToken(namespace, serviceAccount, names.legacySecret);
      recordSecrets(again);
      return again === minted;
    }
  }
};

export type PlayedCase = {
  jwt: string;
  /** Facts for the model, but the jwks mount's key set (read just before the logins). */
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  intact: boolean;
  signer: string;
  keyPublished: boolean;
  objectsLive: boolean;
  /** Cleanup after the logins: the keys the case added are removed again. */
  restore: () => void;
};

/**
 * Plays `s` (case number `n`) up to the instant of the login. `warmUp` logs a token in through the
 * jwks mount (for `removed-seen`, so that it holds the key before the key is removed).
 */
export const playCase = async (
  clusters: Clusters,
  clock: FakeClock,
  s: Scenario,
  n: number,
  warmUp: (jwt: string) => Promise<void>,
): Promise<PlayedCase> => {
  const own = clusters.own;
  const names = objectNames(s, n);
  const added: string[] = [];
  if (s.key === 'es256' || s.key.startsWith('removed'))
    added.push((await own.rotateKey(s.key === 'es256' ? 'ES256' : s.addedAlg)).kid);
  const issuer =
    s.key === 'foreign-key' ? clusters.sameIssuer : s.key === 'foreign-issuer' ? clusters.otherIssuer : own;
  // The case's objects exist in the gateway's cluster whoever mints, so that only the key differs.
  if (issuer !== own) await createAndMint(own, s, names);
  const t0 = clock.nowMs();
  if (s.timing.kind === 'issuer-skew') issuer.faults.clockSkewSeconds = s.timing.skewMs / 1000;
  const minted = await createAndMint(issuer, s, names).finally(() => {
    issuer.faults.clockSkewSeconds = 0;
  });
  const signer = issuer === own ? signerKid(own) : 'foreign';
  if (s.key === 'removed-seen') {
    own.createServiceAccount(names.namespace, 'warmup');
    const warm = { namespace: names.namespace, serviceAccount: 'warmup', audiences: ['warmup'] };
    const { token } = await own.mintToken(warm);
    recordSecrets(token);
    await warmUp(token);
  }
  if (s.key.startsWith('removed')) own.removeKey(added.pop() as string);
  if (s.key === 'old-published') added.push((await own.rotateKey('ES256')).kid);

  const jwt = tampered(minted, s.tamper);
  recordSecrets(minted, jwt);
  const [h, p] = jwt.split('.');
  const payload = decode(p);
  const exp = typeof payload['exp'] === 'number' ? payload['exp'] : undefined;
  const iat = typeof payload['iat'] === 'number' ? payload['iat'] : undefined;
  const extended = exp !== undefined && iat !== undefined && exp - iat > 86_400;
  const loginAt =
    s.timing.kind === 'exp-edge' && !extended
      ? (exp ?? t0 / 1000) * 1000 + 60_000 + s.timing.deltaMs
      : t0 + (s.timing.kind === 'exp-edge' ? Math.abs(s.timing.deltaMs) : s.timing.afterMs);
  const deleteAt = Math.max(t0, loginAt - s.deletedBeforeLoginMs);
  clock.setMs(Math.max(clock.nowMs(), deleteAt));
  const objectsLive = await deleteObjects(own, s, names, minted, loginAt - clock.nowMs() > 60_000);
  clock.setMs(Math.max(clock.nowMs(), loginAt));
  return {
    jwt,
    header: decode(h),
    payload,
    intact: jwt === minted,
    signer,
    keyPublished: signer !== 'foreign' && own.jwks().keys.some((k) => (k as { kid: string }).kid === signer),
    objectsLive,
    restore: () => {
      for (const kid of added) own.removeKey(kid);
    },
  };
};

import { writeFileSync } from 'node:fs';
import {
  createHasher,
  formatRequestEntry,
  formatResponseEntry,
  requestBlock,
  type AuditEntry,
  type AuditOutcome,
  type AuditRequest,
} from '../../src/audit/index.js';
import type { Store } from '../../src/store/index.js';

/** The fixture's salt: its HMACs can be recomputed by a test. */
export const FIXTURE_SALT = '00000000-0000-4000-8000-00000000f1x7';
export const fixtureHash = createHasher(FIXTURE_SALT);

/** The first login of the fixture; the others follow every 5 minutes. */
export const T0 = Date.UTC(2026, 2, 1, 10, 0, 0);
export const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();

type FixtureLogin = {
  mount: string;
  role?: string;
  ns?: string;
  sa?: string;
  pod?: string;
  outcome: AuditOutcome;
  reason: string;
  status: number;
};

type Opt = string | undefined;
type Row = [string, Opt, Opt, Opt, Opt, AuditOutcome, string, number];

/**
 * A known log of twelve logins, numbered from 1, one every 5 minutes from {@link T0}. Columns:
 * mount, role, namespace, service account, pod, outcome, reason, status.
 */
export const FIXTURE_LOGINS: FixtureLogin[] = (
  [
    ['kubernetes', 'nginx', 'test', 'nginx', 'nginx-1', 'ok', 'ok', 200],
    ['kubernetes', 'nginx', 'test', 'nginx', 'nginx-2', 'ok', 'ok', 200],
    ['kubernetes', 'nginx', 'other', 'nginx', undefined, 'denied', 'namespace_not_bound', 403],
    ['kubernetes', 'nginx', 'test', 'api', undefined, 'denied', 'service_account_not_bound', 403],
    ['kubernetes', 'nginx', 'test', 'nginx', 'doomed', 'denied', 'tokenreview_pod_not_found', 403],
    ['jwks', 'web', 'team-a', 'web-frontend', undefined, 'ok', 'ok', 200],
    ['jwks', 'web', 'team-a', 'web-frontend', undefined, 'denied', 'expired', 403],
    ['kubernetes', 'nginx', undefined, undefined, undefined, 'error', 'missing_jwt', 400],
    ['kubernetes', undefined, 'test', 'nginx', undefined, 'denied', 'role_not_found', 400],
    ['kubernetes', 'nginx', 'test', 'nginx', 'nginx-3', 'ok', 'ok', 200],
    ['kubernetes', 'nginx', 'other', 'nginx', undefined, 'denied', 'namespace_not_bound', 403],
    ['kubernetes', 'nginx', 'test', 'nginx', undefined, 'error', 'tokenreview_unreachable', 503],
  ] satisfies Row[]
).map(([mount, role, ns, sa, pod, outcome, reason, status]) => ({
  mount,
  role,
  ns,
  sa,
  pod,
  outcome,
  reason,
  status,
}));

/** The (fake) JWT of fixture login `n` (1-based): its HMAC finds that login. */
export const fixtureJwt = (n: number): string => `fixture-jwt-${n}`;

/**
 * The fixture as audit lines: for each login its request and response entries, and between
 * them entries that are not logins (a token lookup), which every query must ignore.
 */
export const fixtureLines = (): string[] => {
  const lines: string[] = [];
  FIXTURE_LOGINS.forEach((l, i) => {
    const n = i + 1;
    const time = at(i * 5);
    const req: AuditRequest = {
      id: `fixture-${n}`,
      operation: 'update',
      path: `auth/${l.mount}/login`,
      mount: { point: `auth/${l.mount}/`, type: 'kubernetes', class: 'auth' },
      clientToken: undefined,
      data: { role: l.role ?? 'unknown', ...(l.reason === 'missing_jwt' ? {} : { jwt: fixtureJwt(n) }) },
      remoteAddress: `10.0.0.${n}`,
      remotePort: 40000 + n,
    };
    const block = requestBlock(req, fixtureHash, { hmacAccessor: true });
    const line = (entry: AuditEntry) => lines.push(JSON.stringify(entry));
    line(formatRequestEntry(time, req, block, fixtureHash, { hmacAccessor: true }));
    const ok = l.outcome === 'ok';
    line(
      formatResponseEntry(
        time,
        req,
        block,
        {
          auth: ok
            ? {
                client_token: `fixture-token-${n}`,
                accessor: `fixture-accessor-${n}`,
                metadata: {
                  role: l.role ?? '',
                  service_account_name: l.sa ?? '',
                  service_account_namespace: l.ns ?? '',
                  ...(l.pod === undefined ? {} : { pod_name: l.pod }),
                },
                policies: ['default'],
                lease_duration: 3600,
              }
            : undefined,
          data: undefined,
          warnings: undefined,
          error: ok ? undefined : 'permission denied',
          authgate: {
            outcome: l.outcome,
            reason: l.reason,
            status: l.status,
            login: {
              mount: l.mount,
              role: l.role,
              namespace: l.ns,
              service_account: l.sa,
              pod: l.pod,
              verified: ok,
            },
          },
        },
        fixtureHash,
        { hmacAccessor: true },
      ),
    );
    const lookup: AuditRequest = {
      ...req,
      id: `lookup-${n}`,
      path: 'auth/token/lookup-self',
      data: undefined,
    };
    line(
      formatResponseEntry(
        time,
        lookup,
        requestBlock(lookup, fixtureHash, { hmacAccessor: true }),
        {
          auth: undefined,
          data: { ttl: 10 },
          warnings: undefined,
          error: undefined,
          authgate: { outcome: 'ok', reason: 'ok', status: 200 },
        },
        fixtureHash,
        { hmacAccessor: true },
      ),
    );
  });
  return lines;
};

/** Writes the fixture as a file device would (with `prefix` before each line). */
export const writeFixtureFile = (path: string, prefix = ''): void =>
  writeFileSync(
    path,
    fixtureLines()
      .map((l) => `${prefix}${l}\n`)
      .join(''),
  );

/** Writes the fixture as a redis device would. */
export const writeFixtureStream = async (store: Pick<Store, 'streamAdd'>, key: string): Promise<void> => {
  for (const line of fixtureLines()) await store.streamAdd(key, { entry: line }, { maxLen: 10_000 });
};

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountAccessor } from '../src/auth/index.js';
import { goCleanPath } from '../src/lib/go-clean-path.js';
import { createPolicyRegistry, type Acl } from '../src/policy/index.js';
import {
  ACCESSOR,
  directivesFor,
  documentOf,
  OPERATIONS,
  policies,
  pathOf,
  pathSpec,
  requestPath,
  subject,
  textOf,
  type GeneratedPolicy,
  type PathShape,
  type PathSpec,
} from './helpers/acl-model-inputs.js';
import {
  referenceAllows,
  referenceCapabilities,
  referenceRules,
  referenceSudo,
  type Operation,
  type RefSubject,
} from './helpers/acl-reference.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';

/*
 * authgate's ACL against a reference implementation of Vault's (test/helpers/acl-reference.ts),
 * on generated policy sets: paths over a small alphabet so that rules collide and compete,
 * prefix `*`, `+` segments, deny, several policies per token, templated paths with safe and
 * unsafe values, each policy written in one of the syntaxes authgate reads. In process, every
 * operation and `capabilities` on generated paths; end to end, KV requests and
 * `sys/capabilities-self` through the HTTP API, with the policies as files of `policy_dir`.
 * Where authgate deliberately differs from Vault (docs/policies.md), authgate is the reference:
 * template values that are unsafe drop their rule, an unplaceable templated deny voids its
 * policy, and a `..` segment is a 400 before any rule is looked at.
 * Seed and size: FUZZ_SEED; FUZZ_RUNS (in-process runs; the HTTP property runs a tenth of them).
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 800);
const HTTP_RUNS = Math.max(1, Math.ceil(RUNS / 10));
const NAMES = ['p0', 'p1', 'p2'] as const;

const silent = { info: () => undefined, warn: () => undefined };

/** What authgate's `sys/capabilities-self` answers for a capability set. */
const answered = (caps: ReadonlySet<string>): string[] => (caps.size === 0 ? ['deny'] : [...caps].sort());

/** The inline source of a policy: HCL (or JSON) text as a string, or the document itself. */
const inlineOf = (p: GeneratedPolicy): unknown => {
  const text = textOf(p);
  return text === undefined || text.ext === 'yaml' ? documentOf(p) : text.text;
};

describe('the ACL in process', () => {
  const SHAPE: PathShape = {
    heads: [''],
    literals: ['a', 'b', 'ab', ''],
    directives: directivesFor(ACCESSOR),
    maxSegments: 4,
  };
  const PATH = pathSpec([''], ['a', 'b', 'ab', 'abc', 'x', '', 'team-a', '+', '*', '..']);

  /** Every answer of `acl` on `path` against the reference. */
  const check = (acl: Acl, ps: readonly GeneratedPolicy[], s: RefSubject, path: string) => {
    const rules = referenceRules(ps, s);
    for (const op of OPERATIONS) {
      expect(acl.allows(path, op), `${op} ${JSON.stringify(path)}`).toBe(referenceAllows(rules, path, op));
    }
    expect(acl.allows(path, 'sudo'), `sudo ${JSON.stringify(path)}`).toBe(referenceSudo(rules, path, 'read'));
    expect(answered(acl.capabilities(path)), `capabilities ${JSON.stringify(path)}`).toEqual(
      referenceCapabilities(rules, path),
    );
  };

  it('decides every operation and answers every capability set as Vault would', async () => {
    await fc.assert(
      fc.asyncProperty(
        policies(SHAPE, NAMES),
        fc.array(
          fc.record({ subject: subject(NAMES), paths: fc.array(PATH, { minLength: 1, maxLength: 6 }) }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        async (ps, tokens) => {
          const registry = createPolicyRegistry({ log: silent });
          await registry.load({
            inline: Object.fromEntries(ps.map((p) => [p.name, inlineOf(p)])),
            dir: undefined,
          });
          // One registry for every token: its cache (keyed by names and template values) must
          // never hand one token another's ACL.
          for (const { subject: s, paths } of tokens) {
            const acl = registry.aclFor({ ...s, mountPath: 'kubernetes' });
            for (const spec of paths) check(acl, ps, s, pathOf(spec, ps, s));
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);
});

describe('the ACL end to end', () => {
  const KV_ACCESSOR = mountAccessor('kubernetes', 'kubernetes');
  const SHAPE: PathShape = {
    // Repeated heads are drawn more often.
    heads: [
      'secret/data/',
      'secret/metadata/',
      'secret/+/',
      'secret/',
      '',
      'sys/audit-hash/',
      'sys/audit-hash/',
      'sys/+/',
    ],
    literals: ['a', 'b', 'ab', 'team-a', ''],
    directives: directivesFor(KV_ACCESSOR),
    maxSegments: 3,
  };
  /** Keys as they go in the URL: plain, empty segments, read literally (`+`, `*`), or encoded. */
  const URL_KEY = pathSpec(
    [''],
    ['a', 'b', 'ab', 'x', 'team-a', '', '+', '*', '.', '%2e%2e', 'a%2Fb', '%3Bx', 'a%20b'],
  );
  /** Secrets written before each run, each holding its own key as `label`. */
  const SEEDED = ['a', 'b', 'ab', 'x', 'team-a'].flatMap((k) => [k, `${k}/a`, `${k}/b`, `${k}/team-a`]);

  /** KV requests, and `sys/audit-hash/<device>`: a root-protected path (`update` and `sudo`). */
  type Kind = 'read' | 'read-metadata' | 'list' | 'list-data' | 'write' | 'patch' | 'delete' | 'audit-hash';
  type HttpRequest = { kind: Kind; key: PathSpec; token: number };
  const REQUEST: fc.Arbitrary<HttpRequest> = fc.record({
    kind: fc.constantFrom<Kind>(
      'read',
      'read-metadata',
      'list',
      'list-data',
      'write',
      'patch',
      'delete',
      'audit-hash',
    ),
    key: URL_KEY,
    token: fc.constantFrom(0, 1),
  });
  /** `sys/capabilities-self` is asked about logical paths as written: any head, leading slashes kept. */
  const CAPS_PATH = requestPath(
    ['secret/data/', 'secret/metadata/', 'secret/', 'sys/', ''],
    ['a', 'b', 'ab', 'team-a', '', 'x'],
  ).filter((p) => p !== ''); // authgate refuses an empty path with 400

  const dir = mkdtempSync(join(tmpdir(), 'authgate-acl-model-'));
  let h: Harness;
  let port: number;
  /** The two tokens and the identities their templates draw on. */
  const tokens: { token: string; subject: RefSubject }[] = [];

  const inject = (method: string, url: string, token: string, body?: unknown, type = 'application/json') =>
    h.server.app.inject({
      method: method as 'GET',
      url,
      headers: { 'x-vault-token': token, ...(body === undefined ? {} : { 'content-type': type }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  /**
   * A request sent byte for byte over a socket (inject and fetch resolve `..` and `%2e%2e`
   * before the server sees them; a client need not).
   */
  const raw = async (
    method: string,
    target: string,
    token: string,
    body?: unknown,
    type = 'application/json',
  ) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const head = [
      `${method} ${target} HTTP/1.1`,
      'Host: 127.0.0.1',
      `X-Vault-Token: ${token}`,
      'Connection: close',
      ...(body === undefined
        ? []
        : [`Content-Type: ${type}`, `Content-Length: ${Buffer.byteLength(payload)}`]),
    ];
    const res = await rawRequest(port, `${head.join('\r\n')}\r\n\r\n${payload}`);
    return {
      statusCode: res.status,
      headers: res.headers,
      body: res.body,
      json: () => JSON.parse(res.body) as { data: { data: { label: string } } },
    };
  };

  beforeAll(async () => {
    const bound = {
      bound_service_account_names: ['a', 'x'],
      bound_service_account_namespaces: ['team-a', 'b'],
      audience: 'vault',
    };
    h = await startHarness({
      config: { policy_dir: dir, secrets: { kv: { secret: {} } } },
      roles: {
        model: { ...bound, token_policies: [...NAMES] },
        bare: { ...bound, token_policies: ['p1', 'p2'], token_no_default_policy: true },
      },
    });
    await h.server.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.server.app.server.address() as AddressInfo).port;
    for (const [role, namespace, serviceAccount, pod] of [
      ['model', 'team-a', 'a', 'ab'],
      ['bare', 'b', 'x', 'a'],
    ] as const) {
      h.cluster.createPod({ namespace, name: pod, serviceAccount });
      const jwt = await h.podToken({ namespace, serviceAccount, pod });
      const login = await h.login('kubernetes', { role, jwt });
      expect(login.status).toBe(200);
      const token = (login.json['auth'] as { client_token: string }).client_token;
      const lookup = await inject('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, { token });
      const data = lookup.json().data as {
        policies: string[];
        meta: Record<string, string>;
        entity_id: string;
      };
      tokens.push({
        token,
        subject: {
          policies: data.policies,
          metadata: data.meta,
          role,
          mountAccessor: KV_ACCESSOR,
          entityId: data.entity_id,
        },
      });
    }
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes the policies as files of `policy_dir` (the old ones removed) and reloads them. */
  const install = async (ps: readonly GeneratedPolicy[]) => {
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    for (const p of ps) {
      const text = textOf(p) ?? { text: stringify(documentOf(p)), ext: 'yml' };
      writeFileSync(join(dir, `${p.name}.${text.ext}`), text.text);
    }
    await h.server.reloadPolicies();
  };

  /** The logical path of a URL's path as Vault's router sees it (Go's decoded URL.Path). */
  const logical = (urlPath: string) => decodeURIComponent(urlPath);

  const exists = async (key: string) =>
    (await raw('GET', `/v1/secret/metadata/${key}`, ADMIN_TOKEN)).statusCode === 200;

  const run = async (ps: readonly GeneratedPolicy[], req: HttpRequest) => {
    const { token, subject: s } = tokens[req.token] as (typeof tokens)[number];
    const rules = referenceRules(ps, s);
    // A key as it goes in the URL; one derived from a rule drops the rule's `secret/<x>/`.
    const key = pathOf(req.key, ps, s).replace(/^\/*(?:secret|sys)\/[^/]*\//, '');
    const at = `${req.kind} ${key} (token ${req.token})`;
    const tree = req.kind === 'read-metadata' || req.kind === 'list' ? 'metadata' : 'data';
    const url = req.kind === 'audit-hash' ? `sys/audit-hash/${key}` : `secret/${tree}/${key}`;
    let path = logical(url);
    let op: Operation;
    let res;
    const listMethod = req.kind.startsWith('list') && req.token === 0;
    switch (req.kind) {
      case 'read':
      case 'read-metadata':
        op = 'read';
        res = await raw('GET', `/v1/${url}`, token);
        break;
      case 'list':
      case 'list-data':
        op = 'list';
        if (!path.endsWith('/')) path += '/';
        res = listMethod
          ? await raw('LIST', `/v1/${url}`, token)
          : await raw('GET', `/v1/${url}?list=true`, token);
        break;
      case 'write': {
        // Vault's existence check: `update` on what exists, `create` on what does not.
        op = (await exists(key)) ? 'update' : 'create';
        res = await raw('POST', `/v1/${url}`, token, { data: { label: logical(key), by: 'model' } });
        break;
      }
      case 'patch':
        op = 'patch';
        res = await raw(
          'PATCH',
          `/v1/${url}`,
          token,
          { data: { by: 'patch' } },
          'application/merge-patch+json',
        );
        break;
      case 'delete':
        op = 'delete';
        res = await raw('DELETE', `/v1/${url}`, token);
        break;
      case 'audit-hash':
        op = 'update';
        res = await raw('POST', `/v1/${url}`, token, { input: 'x' });
        break;
    }
    expect(res.statusCode, `${at}: ${res.body}`).toBeLessThan(500);
    // A LIST with a `.` or `..` segment is refused before anything else: authgate serves it
    // through inject, which would resolve them (src/http/list-method.ts).
    const segments = path.split('/');
    if (listMethod && (segments.includes('.') || segments.includes('..'))) {
      expect(res.statusCode, at).toBe(400);
      return;
    }
    // A path that is not clean (`//`, `.`, `..` as sent) is redirected to the clean one before
    // any rule is looked at, as Vault's ServeMux does (src/http/path-redirect.ts). A LIST is
    // served as `GET ?list=true` (list-method.ts): its Location says so, where Vault's has no query.
    const sent = `/v1/${url}`;
    if (goCleanPath(sent) !== sent) {
      const query = req.kind.startsWith('list') ? '?list=true' : '';
      expect([res.statusCode, res.headers['location']], at).toEqual([301, goCleanPath(sent) + query]);
      return;
    }
    // A `..` segment that only decoding reveals (`%2e%2e`) is refused before any rule is looked
    // at (src/http/acl-hook.ts), on a path no route serves too (the catch-all is guarded).
    if (segments.includes('..')) {
      expect(res.statusCode, at).toBe(400);
      return;
    }
    if (req.kind === 'audit-hash' && key.includes('/')) {
      // `sys/audit-hash/<device>` is one segment: anything else is no device, never hashed.
      expect([403, 404, 405], at).toContain(res.statusCode);
      return;
    }
    const allowed =
      referenceAllows(rules, path, op) && (req.kind !== 'audit-hash' || referenceSudo(rules, path, op));
    expect(
      res.statusCode === 403 ? 'refused' : 'allowed',
      `${at} on ${JSON.stringify(path)}: ${res.body}`,
    ).toBe(allowed ? 'allowed' : 'refused');
    if (req.kind === 'read' && res.statusCode === 200) {
      // What was served is what was checked: the secret read is the one at the checked path.
      expect(`secret/data/${res.json().data.data.label}`, at).toBe(path);
    }
  };

  it('decides KV requests and answers sys/capabilities-self as Vault would', async () => {
    await fc.assert(
      fc.asyncProperty(
        policies(SHAPE, NAMES),
        fc.array(REQUEST, { minLength: 1, maxLength: 10 }),
        fc.array(fc.record({ path: CAPS_PATH, token: fc.constantFrom(0, 1) }), { maxLength: 4 }),
        async (ps, requests, asked) => {
          await install(ps);
          for (const key of SEEDED) {
            const res = await inject('POST', `/v1/secret/data/${key}`, ADMIN_TOKEN, { data: { label: key } });
            expect(res.statusCode).toBe(200);
          }
          for (const req of requests) await run(ps, req);
          for (const { path, token: i } of asked) {
            const { token, subject: s } = tokens[i] as (typeof tokens)[number];
            const rules = referenceRules(ps, s);
            const res = await inject('POST', '/v1/sys/capabilities-self', token, { paths: [path] });
            if (!referenceAllows(rules, 'sys/capabilities-self', 'update')) {
              expect(res.statusCode).toBe(403);
              continue;
            }
            expect(res.statusCode, res.body).toBe(200);
            expect(res.json().data[path], `capabilities of ${JSON.stringify(path)}`).toEqual(
              referenceCapabilities(rules, path),
            );
          }
        },
      ),
      { seed: SEED, numRuns: HTTP_RUNS },
    );
  }, 240_000);
});

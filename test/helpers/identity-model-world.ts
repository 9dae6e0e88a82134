import type { JSONWebKeySet } from 'jose';
import { expect } from 'vitest';
import type { FakeClock } from '../../src/lib/clock.js';
import { ADMIN_TOKEN, type Harness } from './harness.js';
import { expectedJwksMaxAge, fetchDocument } from './identity-model.js';
import type { ModelRun, Probe, RoleSpec, Subject } from './identity-model-inputs.js';
import { INVALID_TOKEN_MESSAGE } from '../../src/errors.js';

/*
 * The state of one run of test/identity-model.test.ts (the server, the clock, what was issued and
 * fetched), the requests it makes, and the probes: requests that must sign nothing.
 */

/** Which interesting things the runs reached: a default run must reach them all. */
export const seen = new Map<string, number>();
export const see = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

export type Issued = {
  jwt: string;
  kid: string;
  role: RoleSpec;
  exp: number;
  issuedAtMs: number;
  /** The kids published just after it was issued. */
  publishedThen?: Set<string>;
};

export type World = {
  run: ModelRun;
  h: Harness;
  clock: FakeClock;
  oidcIssuer: string;
  jwksUri: string;
  tokens: Issued[];
  /** Per kid: when it last signed a token we got (ms), and the key ring it belongs to. */
  kids: Map<string, { lastSignedAtMs: number; key: string }>;
  /** Per key ring: the kid of its latest token. */
  latestKid: Map<string, string>;
  /** The key sets fetched less than max-age ago, as verifiers caching them hold them. */
  copies: Array<{ set: JSONWebKeySet; fetchedAtMs: number; kids: Set<string> }>;
  pods: Map<string, { uid: string }>;
  /**
   * Per key: when it last started signing, as far as the test can tell (the ring is created at the
   * first fetch, and rotates at the first load once its period has passed). Only steers the clock.
   */
  activatedAtMs: Map<string, number>;
};

export const podName = (s: Subject) => `${s.serviceAccount}-model`;
export const nowSeconds = (w: World) => Math.floor(w.clock.nowMs() / 1000);

export const request = async (
  w: World,
  method: 'GET' | 'POST' | 'HEAD',
  url: string,
  token?: string,
): Promise<{ status: number; body: string; json: () => Record<string, unknown> }> => {
  const res = await w.h.server.app.inject({
    method,
    url,
    headers: token === undefined ? {} : { 'x-vault-token': token },
  });
  return { status: res.statusCode, body: res.body, json: () => res.json() as Record<string, unknown> };
};

/** Logs `subject` in through `mount` with login role `loginRole`; resolves the client token. */
export const login = async (
  w: World,
  loginRole: string,
  subject: Subject = { namespace: 'test', serviceAccount: 'nginx', podBound: true },
  mount: 'jwks' | 'kubernetes' = 'jwks',
): Promise<string> => {
  // The reviewer token is minted on the fake clock: a fresh one for the clock's time now.
  if (mount === 'kubernetes') await w.h.rotateReviewer();
  const { token: jwt } = await w.h.cluster.mintToken({
    namespace: subject.namespace,
    serviceAccount: subject.serviceAccount,
    audiences: ['vault'],
    expirationSeconds: 7200,
    ...(subject.podBound ? { pod: podName(subject) } : {}),
  });
  const res = await w.h.login(mount, { role: loginRole, jwt });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

const DENIED = { errors: ['permission denied'] };
const UNSUPPORTED = { errors: ['unsupported operation'] };

/** Requests that must sign nothing, with Vault's answers. */
export const probe = async (w: World, which: Probe, name: string): Promise<void> => {
  const token = (role: string) => `/v1/identity/oidc/token/${role}`;
  const answer = async (method: 'GET' | 'POST' | 'HEAD', url: string, t?: string) => {
    const res = await request(w, method, url, t);
    return { status: res.status, body: res.body === '' ? undefined : (res.json() as unknown) };
  };
  const expectations: Record<Probe, () => Promise<void>> = {
    'admin-known-role': async () =>
      // The admin token (Vault's root) has no entity: Vault's 400.
      expect(await answer('GET', token('r0'), ADMIN_TOKEN)).toStrictEqual({
        status: 400,
        body: { errors: ["no entity associated with the request's token"] },
      }),
    'admin-unknown-role': async () =>
      expect(await answer('GET', token(name), ADMIN_TOKEN)).toStrictEqual({
        status: 400,
        body: { errors: [`role "${name}" not found`] },
      }),
    'no-identity-policy': async () =>
      expect(await answer('GET', token('r0'), await login(w, 'reader'))).toStrictEqual({
        status: 403,
        body: DENIED,
      }),
    'narrow-other-role': async () => {
      const last = w.run.config.roles.at(-1) as RoleSpec;
      const res = await answer('GET', token(last.name), await login(w, 'narrow'));
      if (last.name === 'r0') expect(res.status).toBe(200);
      else expect(res).toStrictEqual({ status: 403, body: DENIED });
    },
    anonymous: async () =>
      expect(await answer('GET', token('r0'))).toStrictEqual({ status: 403, body: DENIED }),
    'unknown-token': async () =>
      expect(await answer('GET', token('r0'), `ags.${'A'.repeat(43)}`)).toStrictEqual({
        status: 403,
        body: { errors: [INVALID_TOKEN_MESSAGE] },
      }),
    // A HEAD is a method the path has (it exists) but no operation of it: 405, as for a POST,
    // to a caller the ACL lets ask; 403 to any other. Never a token signed only to be dropped.
    'head-token-admin': async () => expect((await answer('HEAD', token('r0'), ADMIN_TOKEN)).status).toBe(405),
    'head-token-reader': async () =>
      expect((await answer('HEAD', token('r0'), await login(w, 'signer'))).status).toBe(405),
    'head-token-anonymous': async () => expect((await answer('HEAD', token('r0'))).status).toBe(403),
    'post-token-admin': async () =>
      expect(await answer('POST', token('r0'), ADMIN_TOKEN)).toStrictEqual({
        status: 405,
        body: UNSUPPORTED,
      }),
    'list-token-admin': async () =>
      expect(await answer('GET', `${token('r0')}?list=true`, ADMIN_TOKEN)).toStrictEqual({
        status: 405,
        body: UNSUPPORTED,
      }),
    'head-keys': async () => {
      const res = await fetchDocument(w.jwksUri, 'HEAD');
      expect(res).toMatchObject({
        status: 200,
        cacheControl: `public, max-age=${expectedJwksMaxAge(w.run.config)}`,
        text: '',
      });
    },
  };
  await expectations[which]();
  see(`probe ${which}`);
};

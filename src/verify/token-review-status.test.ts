import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { UnverifiedClaims } from '../identity/index.js';
import { truncate } from '../lib/truncate.js';
import {
  interpretReview,
  MAX_UPSTREAM_TEXT_CHARS,
  reasonFromStatusError,
  scrubbedError,
  scrubUpstreamText,
} from './token-review-status.js';

const claims: UnverifiedClaims = {
  header: { alg: 'RS256', kid: 'k' },
  issuer: 'https://kubernetes.default.svc.cluster.local',
  subject: 'system:serviceaccount:team-a:app',
  audiences: ['vault'],
  expiresAt: 2000,
  jti: 'jti-1',
  namespace: 'team-a',
  serviceAccount: { name: 'app', uid: 'sa-uid' },
  pod: { name: 'app-1', uid: 'pod-uid' },
  node: { name: 'worker-1', uid: 'node-uid' },
  legacy: false,
};

const ok: V1TokenReviewStatus = {
  authenticated: true,
  audiences: ['vault'],
  user: {
    username: 'system:serviceaccount:team-a:app',
    uid: 'sa-uid',
    groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
    extra: {
      'authentication.kubernetes.io/credential-id': ['JTI=jti-1'],
      'authentication.kubernetes.io/node-name': ['worker-1'],
      'authentication.kubernetes.io/node-uid': ['node-uid'],
      'authentication.kubernetes.io/pod-name': ['app-1'],
      'authentication.kubernetes.io/pod-uid': ['pod-uid'],
    },
  },
};

describe('interpretReview', () => {
  it('accepts a matching review and builds the identity from claims and extras', () => {
    expect(interpretReview(ok, claims, ['vault'])).toEqual({
      identity: {
        issuer: claims.issuer,
        subject: 'system:serviceaccount:team-a:app',
        namespace: 'team-a',
        serviceAccount: { name: 'app', uid: 'sa-uid' },
        pod: { name: 'app-1', uid: 'pod-uid' },
        node: { name: 'worker-1', uid: 'node-uid' },
        audiences: ['vault'],
        expiresAt: 2000,
        jti: 'jti-1',
        legacy: false,
      },
    });
  });

  it('accepts a 1.21-era review without extras, keeping the claims’ pod', () => {
    const res = interpretReview({ ...ok, user: { ...ok.user, extra: {} } }, claims, ['vault']);
    expect(res).toMatchObject({ identity: { pod: { name: 'app-1', uid: 'pod-uid' } } });
  });

  const wrongUser = (user: Partial<NonNullable<V1TokenReviewStatus['user']>>) => ({
    ...ok,
    user: { ...ok.user, ...user },
  });
  const wrongExtras = (key: string, values: string[]) =>
    wrongUser({ extra: { ...ok.user?.extra, [`authentication.kubernetes.io/${key}`]: values } });
  const wrongExtra = (key: string, value: string) => wrongExtras(key, [value]);
  const withoutExtra = (key: string) => {
    const extra = { ...ok.user?.extra };
    delete extra[`authentication.kubernetes.io/${key}`];
    return wrongUser({ extra });
  };

  it.each<[string, V1TokenReviewStatus, string[], string]>([
    [
      'an error',
      { user: {}, error: '[invalid bearer token, service account token has expired]' },
      ['vault'],
      'tokenreview_expired',
    ],
    ['an error even when authenticated', { ...ok, error: 'boom' }, ['vault'], 'tokenreview_error'],
    ['not authenticated', { authenticated: false, user: {} }, ['vault'], 'tokenreview_not_authenticated'],
    ['audience not echoed', { ...ok, audiences: [] }, ['vault'], 'tokenreview_audience_not_echoed'],
    ['another audience echoed', { ...ok, audiences: ['api'] }, ['vault'], 'tokenreview_audience_not_echoed'],
    [
      'another username',
      wrongUser({ username: 'system:serviceaccount:team-a:other' }),
      ['vault'],
      'tokenreview_identity_mismatch',
    ],
    ['a non-SA user', wrongUser({ username: 'admin' }), ['vault'], 'tokenreview_identity_mismatch'],
    ['another SA uid', wrongUser({ uid: 'recreated' }), ['vault'], 'tokenreview_identity_mismatch'],
    ['another pod', wrongExtra('pod-uid', 'other'), ['vault'], 'tokenreview_identity_mismatch'],
    ['another node', wrongExtra('node-name', 'other'), ['vault'], 'tokenreview_identity_mismatch'],
    ['another jti', wrongExtra('credential-id', 'JTI=other'), ['vault'], 'tokenreview_identity_mismatch'],
    ['another node uid', wrongExtra('node-uid', 'other'), ['vault'], 'tokenreview_identity_mismatch'],
    // Another pod uid is caught even without the pod name beside it.
    [
      'another pod uid without a pod name',
      {
        ...withoutExtra('pod-name'),
        user: {
          ...withoutExtra('pod-name').user,
          extra: { 'authentication.kubernetes.io/pod-uid': ['other'] },
        },
      },
      ['vault'],
      'tokenreview_identity_mismatch',
    ],
    // An answer naming two pods proves neither; its first value is not taken for the answer.
    [
      'two pod names',
      wrongExtras('pod-name', ['app-1', 'app-2']),
      ['vault'],
      'tokenreview_identity_mismatch',
    ],
    [
      'two pod uids',
      wrongExtras('pod-uid', ['pod-uid', 'other']),
      ['vault'],
      'tokenreview_identity_mismatch',
    ],
    [
      'two credential ids',
      wrongExtras('credential-id', ['JTI=jti-1', 'JTI=x']),
      ['vault'],
      'tokenreview_identity_mismatch',
    ],
    ['an empty pod name list', wrongExtras('pod-name', []), ['vault'], 'tokenreview_identity_mismatch'],
    ['a pod name but no pod uid', withoutExtra('pod-uid'), ['vault'], 'tokenreview_identity_mismatch'],
  ])('refuses %s', (_what, status, requested, reason) => {
    const res = interpretReview(status, claims, requested);
    expect(res).toMatchObject({ refusal: { reason } });
  });

  it('takes whatever audiences the API server echoes when none were requested (legacy, no role audience)', () => {
    const res = interpretReview({ ...ok, audiences: ['https://kubernetes.default.svc'] }, claims, []);
    expect(res).toMatchObject({ identity: { audiences: ['https://kubernetes.default.svc'] } });
  });

  it('never puts the token in a refusal detail', () => {
    const res = interpretReview(
      { user: {}, error: '[invalid bearer token, Token has been invalidated]' },
      claims,
      ['vault'],
    );
    expect(res).toEqual({
      refusal: {
        reason: 'tokenreview_pod_not_found',
        detail: 'lookup failed: [invalid bearer token, Token has been invalidated]',
      },
    });
  });
});

describe('reasonFromStatusError', () => {
  const pod = { pod: { name: 'p', uid: 'u' } };
  it.each([
    ['[invalid bearer token, service account token has been invalidated]', pod, 'tokenreview_pod_not_found'],
    [
      '[invalid bearer token, Token has been invalidated]',
      { secretName: 's' },
      'tokenreview_secret_not_found',
    ],
    ['[invalid bearer token, service account token has been invalidated]', {}, 'tokenreview_invalidated'],
    ['[invalid bearer token, service account token has expired]', pod, 'tokenreview_expired'],
    ['[invalid bearer token, Token has expired.]', pod, 'tokenreview_expired'],
    ['[invalid bearer token, service account token is not valid yet]', pod, 'tokenreview_not_yet_valid'],
    [
      '[invalid bearer token, service account token is issued in the future]',
      pod,
      'tokenreview_issued_in_future',
    ],
    [
      '[invalid bearer token, token audiences ["inventory-api"] is invalid for the target audiences ["payments-api"]]',
      pod,
      'tokenreview_audience',
    ],
    [
      '[invalid bearer token, pod UID (a) does not match service account pod ref claim (b)]',
      pod,
      'tokenreview_uid_mismatch',
    ],
    ['[invalid bearer token, serviceaccounts "x" not found]', pod, 'tokenreview_service_account_not_found'],
    [
      '[invalid bearer token, square/go-jose: error in cryptographic primitive]',
      pod,
      'tokenreview_bad_signature',
    ],
    ['something new', pod, 'tokenreview_error'],
  ])('%s → %s', (error, c, reason) => {
    expect(reasonFromStatusError(error, c)).toBe(reason);
  });
});

describe('scrubUpstreamText', () => {
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

  it.each([
    ['quoted', `invalid bearer token "${jwt}"`, 'invalid bearer token "<jwt>"'],
    ['after a colon', `token:${jwt}, rejected`, 'token:<jwt>, rejected'],
    ['after a header name', `Authorization: Bearer ${jwt}`, 'Authorization: Bearer <jwt>'],
  ])('hides a JWT %s', (_case, text, scrubbed) => {
    expect(scrubUpstreamText(text, 'https://10.0.0.1:6443')).toBe(scrubbed);
  });

  it('hides the password of the API server URL', () => {
    expect(
      scrubUpstreamText('dial https://u:hunter2@k8s:6443 failed', 'https://u:hunter2@k8s:6443'),
    ).not.toContain('hunter2');
  });

  it('reads a long text of JWT-like starts with no dots in linear time', () => {
    // What an upstream (the API server, or a proxy before it) may send: up to 1 MiB. A scan that
    // starts again at each `eyJ` is quadratic and would hold the event loop for minutes.
    const text = 'eyJ'.repeat(100_000);
    const startedMs = performance.now();
    expect(scrubUpstreamText(text, 'https://10.0.0.1:6443')).toBe(truncate(text, MAX_UPSTREAM_TEXT_CHARS));
    expect(performance.now() - startedMs).toBeLessThan(1_000);
  });

  it('cuts a long text after hiding the tokens in it, so no token is cut in half and left', () => {
    const text = `${'x'.repeat(MAX_UPSTREAM_TEXT_CHARS - 10)} ${jwt}`;
    expect(scrubUpstreamText(text, 'https://10.0.0.1:6443')).toBe(
      `${'x'.repeat(MAX_UPSTREAM_TEXT_CHARS - 10)} <jwt>`,
    );
    expect(scrubUpstreamText(`${text}${'y'.repeat(2000)}`, 'https://k')).not.toContain('eyJ');
  });
});

describe('scrubbedError', () => {
  it('cuts a long message in the message and the stack, and keeps the frames', () => {
    const err = new Error(`etcd ${'x'.repeat(100_000)}`);
    const copy = scrubbedError(err, 'https://k') as Error;
    expect(copy.message.length).toBeLessThan(MAX_UPSTREAM_TEXT_CHARS + 32);
    expect(copy.stack?.length).toBeLessThan(
      (err.stack?.length ?? 0) - 100_000 + MAX_UPSTREAM_TEXT_CHARS + 64,
    );
    expect(copy.stack).toContain('token-review-status.test.ts');
  });

  it('puts the message into the stack as it is, whatever replacement patterns it holds', () => {
    const err = new Error(`said ${"$'".repeat(400)}`);
    const copy = scrubbedError(err, 'https://k') as Error;
    expect(copy.stack?.startsWith(`Error: ${copy.message}\n`)).toBe(true);
    expect(copy.stack?.length).toBeLessThan((err.stack?.length ?? 0) + 100);
  });
});

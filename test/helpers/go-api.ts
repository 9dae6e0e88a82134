import { request } from 'node:http';
import { expect } from 'vitest';
import { recordAuthSecrets } from './audit.js';

/*
 * Requests as HashiCorp Vault's Go client (github.com/hashicorp/vault/api) sends them, and the
 * checks its decoding makes of the answers. Vault Agent, Vault Proxy, the Vault Secrets Operator,
 * External Secrets Operator and consul-template all speak through that client, so what it sends
 * and reads is what they send and read.
 */

/** One answer as the Go client receives it. */
export type GoAnswer = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON; `undefined` for an empty body (204). */
  json: Record<string, unknown> | undefined;
};

export type GoRequest = {
  /** `X-Vault-Token`, set by the client for every request once it holds a token. */
  token?: string;
  /**
   * The JSON body as `Request.SetJSONBody` marshals it: `null` is what `Logical().Write(path, nil)`
   * sends (Go marshals a nil map as `null`); `undefined` sends no body at all (`RevokeSelf`).
   */
  body?: unknown;
  /** More headers (the client's own `SetHeaders`, `X-Vault-Namespace`, callbacks). */
  headers?: Record<string, string>;
  /** The User-Agent: Vault Agent sets its own with `ah.userAgent`. */
  userAgent?: string;
};

/**
 * Sends one request over a real connection with the headers the Go client sets, and only those:
 * `X-Vault-Request: true` (`api.NewClient`), the token, `Accept-Encoding: gzip` and a
 * `Content-Length` (net/http), and no `Content-Type` (`toRetryableHTTP` sets none for a JSON body).
 */
export const goRequest = (port: number, method: string, path: string, o: GoRequest = {}): Promise<GoAnswer> =>
  new Promise((resolve, reject) => {
    const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          'User-Agent': o.userAgent ?? 'Go-http-client/1.1',
          'X-Vault-Request': 'true',
          'Accept-Encoding': 'gzip',
          // net/http sends Content-Length: 0 on a PUT or POST without a body.
          'Content-Length': String(payload?.length ?? 0),
          ...(o.token === undefined ? {} : { 'X-Vault-Token': o.token }),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
          if (json !== undefined) recordAuthSecrets(json);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });

const isStringMap = (v: unknown) =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string');
const isStringList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Asserts that `json` decodes into the Go client's `api.Secret` (api/secret.go) as
 * `encoding/json` would decode it: a field of the wrong JSON type there is an error that fails
 * the whole call (a float `lease_duration`, a number in `auth.metadata`, a string `renewable`).
 * `null` decodes to the zero value, as in Go.
 */
export const expectGoSecret = (json: Record<string, unknown> | undefined): void => {
  expect(json).toBeDefined();
  const s = json ?? {};
  const optional = (key: string, check: (v: unknown) => boolean) => {
    const v = s[key];
    expect(v === undefined || v === null || check(v), `${key}: ${JSON.stringify(v)}`).toBe(true);
  };
  optional('request_id', (v) => typeof v === 'string');
  optional('lease_id', (v) => typeof v === 'string');
  optional('lease_duration', (v) => Number.isSafeInteger(v));
  optional('renewable', (v) => typeof v === 'boolean');
  optional('data', (v) => typeof v === 'object' && !Array.isArray(v));
  optional('warnings', isStringList);
  optional('mount_type', (v) => typeof v === 'string');
  optional('wrap_info', (v) => typeof v === 'object' && !Array.isArray(v));
  const auth = s['auth'];
  if (auth === undefined || auth === null) return;
  expect(typeof auth).toBe('object');
  const a = auth as Record<string, unknown>;
  const field = (key: string, check: (v: unknown) => boolean) => {
    const v = a[key];
    expect(v === undefined || v === null || check(v), `auth.${key}: ${JSON.stringify(v)}`).toBe(true);
  };
  field('client_token', (v) => typeof v === 'string');
  field('accessor', (v) => typeof v === 'string');
  field('policies', isStringList);
  field('token_policies', isStringList);
  field('identity_policies', isStringList);
  field('metadata', isStringMap);
  field('orphan', (v) => typeof v === 'boolean');
  field('entity_id', (v) => typeof v === 'string');
  field('lease_duration', (v) => Number.isSafeInteger(v));
  field('renewable', (v) => typeof v === 'boolean');
  field('mfa_requirement', (v) => typeof v === 'object');
};

/** RFC 3339 as Go's `time.Parse(time.RFC3339, …)` accepts it (fractional seconds allowed). */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

import * as http from 'node:http';
import * as https from 'node:https';
import { httpRequest } from '../lib/http-get.js';
import { trimTrailingSlashes } from '../lib/trim-slashes.js';
import { redactUrl } from '../lib/redact-url.js';

/** Bound on an answer's body: a Vault `auth` block is about 1 KB. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export type AuthgateClientOptions = {
  /** authgate's base URL (`https://authgate.authgate.svc:8200`; `http:` for a local one). */
  address: string;
  /** PEM CA bundle that replaces the system roots for an `https:` address. */
  caCert: string | undefined;
  /** Abort one call after this many milliseconds. */
  timeoutMs: number;
};

/**
 * The agent's HTTP client of authgate's Vault API: one keep-alive connection, JSON in and out,
 * the client token in `X-Vault-Token`. Through lib/http-get.ts (node:http(s)) rather than the
 * global fetch, for the reason given there: a private CA per request without the undici package.
 * Redirects are not followed (a token is never sent where a redirect points).
 */
export const createAuthgateClient = (options: AuthgateClientOptions) => {
  const base = trimTrailingSlashes(options.address);
  const secure = base.startsWith('https:');
  const agent = secure
    ? new https.Agent({ keepAlive: true, ...(options.caCert !== undefined ? { ca: options.caCert } : {}) })
    : new http.Agent({ keepAlive: true });
  return {
    /**
     * One request. Resolves the status and the body parsed as JSON (undefined when empty or not
     * JSON); rejects when there is no answer within `timeoutMs` (the message names the address,
     * never a token).
     */
    async call(
      method: string,
      path: string,
      init: { token?: string; body?: unknown } = {},
    ): Promise<{ status: number; json: unknown }> {
      const headers: Record<string, string> = {};
      if (init.token !== undefined) headers['x-vault-token'] = init.token;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      let res;
      try {
        res = await httpRequest(`${base}${path}`, {
          method,
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          agent,
          caCert: options.caCert,
          timeoutMs: options.timeoutMs,
          maxBytes: MAX_ANSWER_BYTES,
        });
      } catch (err) {
        // The address may carry a user and password (sent as Basic auth): never in the message,
        // which the agent logs at every retry.
        throw new Error(`cannot reach authgate at ${redactUrl(base)}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      let json: unknown;
      try {
        json = res.body === '' ? undefined : JSON.parse(res.body);
      } catch {
        json = undefined;
      }
      return { status: res.status, json };
    },
    close(): void {
      agent.destroy();
    },
  };
};
export type AuthgateClient = ReturnType<typeof createAuthgateClient>;

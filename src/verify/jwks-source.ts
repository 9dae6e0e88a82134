import { readFile, stat } from 'node:fs/promises';
import { isLoopbackHost, redactUrl, type JwksConfig } from '../config/index.js';
import { withSpan } from '../lib/tracing.js';
import { truncate } from '../lib/truncate.js';
import type { Clock } from '../lib/clock.js';
import { httpGet } from '../lib/http-get.js';
import { trimTrailingSlashes } from '../lib/trim-slashes.js';

/** A JSON Web Key Set as published: `{"keys": [...]}`; members are checked by the key store. */
export type JwksDocument = { keys: unknown[] };

/** Where a key set comes from. */
export type JwksSource = {
  /** `file`, `url`, `oidc-discovery` or `keys` (given in the config file). */
  readonly kind: JwksConfig['source']['kind'];
  /** For logs: the path or URL, its user and password (if any) shown as `***`. */
  readonly location: string;
  /**
   * Loads the key set. Resolves `undefined` when a file (or the keys given in the config) has not
   * changed since the previous load (nothing to re-parse). Rejects with an `Error` saying what failed.
   */
  load(): Promise<JwksDocument | undefined>;
};

export type JwksSourceDeps = {
  clock: Clock;
  /** Called once per network request or file read, for the `upstreamCalls` counter. */
  onUpstreamCall: () => void;
  fetch?: typeof fetch | undefined;
  /**
   * The bearer to send to a URL, if any. The cluster's own discovery endpoints are readable only
   * by service accounts (system:service-account-issuer-discovery), so a fetch through the API
   * server presents authgate's token; no other host ever sees it.
   */
  bearerFor?: (url: string) => Promise<string | undefined>;
  /**
   * The CA bundle for a fetch that carries that bearer (the cluster's own CA): the reviewer token
   * goes to the API server under the trust TokenReview has, never under the wider one a key set
   * on a public host needs (`caCert` with the system roots). Default: `config.caCert`.
   */
  bearerCaCert?: string;
  /**
   * The mount's `allow_insecure_http`: whether a discovered `jwks_uri` may be plain HTTP to a host
   * that is not loopback, as the configured URLs may only with it.
   */
  allowInsecureHttp?: boolean;
};

/** A JWKS or discovery document is a few KB; anything past this is refused. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

const parseJson = (text: string, what: string): Record<string, unknown> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${what} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
};

const asJwks = (text: string, what: string): JwksDocument => {
  const doc = parseJson(text, what);
  const keys = doc['keys'];
  if (!Array.isArray(keys)) throw new Error(`${what} has no "keys" array`);
  return { keys };
};

const isHttpUrl = (value: string): boolean => {
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
};

/**
 * Builds the source a mount's `jwks` config names:
 * - `file`: a local `{"keys":[...]}` file, re-read only when its mtime, size or inode changed;
 * - `url`: GET of the JWKS;
 * - `oidc-discovery`: GET `<url>/.well-known/openid-configuration`, whose `issuer` must be one of
 *   `issuers` (exact match), then GET its `jwks_uri`. The discovered URI is reused for
 *   `maxAgeMs` and discovered again after that or after a failed key fetch.
 */
export const createJwksSource = (
  config: JwksConfig,
  issuers: readonly string[],
  deps: JwksSourceDeps,
): JwksSource => {
  // A URL may carry a user and password, which Node sends as Basic auth: every message, log
  // line and span names it by `redactUrl`, since the audit writes a refused login's detail in
  // clear and traces leave the process.
  // `shown`: how messages name the URL (a URL a discovery document names is cut, see below).
  const get = (url: string, what: string, shown = redactUrl(url)): Promise<string> =>
    withSpan('jwks.fetch', { 'url.full': redactUrl(url) }, () => getOnce(url, what, shown));
  const getOnce = async (url: string, what: string, shown: string): Promise<string> => {
    deps.onUpstreamCall();
    const bearer = await deps.bearerFor?.(url);
    const res = await httpGet(url, {
      ...(bearer === undefined ? {} : { headers: { authorization: `Bearer ${bearer}` } }),
      timeoutMs: config.timeoutMs,
      maxBytes: MAX_DOCUMENT_BYTES,
      caCert: bearer === undefined ? config.caCert : (deps.bearerCaCert ?? config.caCert),
      fetch: deps.fetch,
    });
    if (res.status < 200 || res.status > 299) throw new Error(`${what} ${shown} answered HTTP ${res.status}`);
    return res.body;
  };

  const source = config.source;
  switch (source.kind) {
    case 'keys': {
      // Given in the config file: loaded once, and unchanged at every later load.
      let loaded = false;
      return {
        kind: 'keys',
        location: 'jwt_validation_pubkeys',
        load: () => {
          if (loaded) return Promise.resolve(undefined);
          loaded = true;
          return Promise.resolve({ keys: [...source.keys] });
        },
      };
    }
    case 'file': {
      let seen: string | undefined;
      return {
        kind: 'file',
        location: source.path,
        load: async () => {
          const st = await stat(source.path);
          const version = `${st.mtimeMs}:${st.size}:${st.ino}`;
          if (version === seen) return undefined;
          deps.onUpstreamCall();
          const doc = asJwks(await readFile(source.path, 'utf8'), `JWKS file ${source.path}`);
          seen = version;
          return doc;
        },
      };
    }
    case 'url':
      return {
        kind: 'url',
        location: redactUrl(source.url),
        load: async () =>
          asJwks(await get(source.url, 'JWKS endpoint'), `JWKS from ${redactUrl(source.url)}`),
      };
    case 'oidc-discovery': {
      const discoveryUrl = `${trimTrailingSlashes(source.url)}/.well-known/openid-configuration`;
      const shownDiscoveryUrl = redactUrl(discoveryUrl);
      let jwksUri: string | undefined;
      let discoveredAtMs = 0;
      const discover = async (): Promise<string> => {
        const doc = parseJson(
          await get(discoveryUrl, 'discovery endpoint'),
          `discovery document ${shownDiscoveryUrl}`,
        );
        const issuer = doc['issuer'];
        // Trust decision: the discovery document only names keys for an issuer we accept; a
        // document for another issuer (a mis-pointed URL, a hijacked host) is refused outright.
        if (typeof issuer !== 'string' || !issuers.includes(issuer)) {
          throw new Error(
            // Cut: the document is the endpoint's to write, and this message reaches every refused
            // login's log line and audit entry.
            `discovery document issuer ${truncate(String(JSON.stringify(issuer)))} is not one of the configured issuers`,
          );
        }
        const uri = doc['jwks_uri'];
        if (typeof uri !== 'string' || !isHttpUrl(uri)) {
          throw new Error(`discovery document ${shownDiscoveryUrl} has no valid jwks_uri`);
        }
        // Keys found over TLS are not then fetched in clear text.
        if (discoveryUrl.startsWith('https:') && !uri.startsWith('https:')) {
          throw new Error(`discovery document ${shownDiscoveryUrl} points to a non-https jwks_uri`);
        }
        // The rule of the configured URLs holds for the one the document names: a discovery URL on
        // loopback (kubectl proxy) does not make clear text to another host safe, since whoever
        // alters that answer on the network chooses the keys.
        if (
          uri.startsWith('http:') &&
          deps.allowInsecureHttp !== true &&
          !isLoopbackHost(new URL(uri).hostname)
        ) {
          throw new Error(
            `discovery document ${shownDiscoveryUrl} points to a plain-http jwks_uri on a host that is not loopback (allow_insecure_http is off)`,
          );
        }
        return uri;
      };
      return {
        kind: 'oidc-discovery',
        location: shownDiscoveryUrl,
        load: async () => {
          const now = deps.clock.nowMs();
          if (jwksUri === undefined || now - discoveredAtMs >= config.maxAgeMs) {
            jwksUri = await discover();
            discoveredAtMs = now;
          }
          const uri = jwksUri;
          try {
            // Cut, as the issuer above: the document names it, and a failed load's message reaches
            // every refused login's log line and audit entry.
            const shown = truncate(redactUrl(uri));
            return asJwks(await get(uri, 'JWKS endpoint', shown), `JWKS from ${shown}`);
          } catch (err) {
            jwksUri = undefined; // the next load discovers again
            throw err;
          }
        },
      };
    }
  }
};

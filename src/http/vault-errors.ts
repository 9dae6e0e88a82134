import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, isAuthgateError, type AuthgateError } from '../errors.js';
import { parseExactJson } from '../lib/exact-json.js';
import { createLogBudget } from '../lib/log-budget.js';
import { decodedPath } from './acl-hook.js';
import { tokenInPathErrorOf } from './token-in-path.js';
import { isFormBody, parseFormBody } from '../lib/go-form.js';
import { jsonTooDeep } from '../lib/json-depth.js';

/**
 * The one answer to a body that is not JSON, whatever the body was: Vault's for every logical
 * request (http/logical.go `buildLogicalRequestNoAuth`), which every body authgate reads is.
 */
const INVALID_JSON_MESSAGE = 'error parsing JSON';

/**
 * The methods a Vault path may be asked with (HEAD follows GET; LIST arrives as GET, see
 * client-errors.ts). Any other is Vault's bare 405.
 */
export const VAULT_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
const ANSWERED_METHODS = new Set<string>([...VAULT_METHODS, 'HEAD']);

/** Vault's error body: `{"errors":[...]}` for every status ≥ 400. */
export const sendErrors = (reply: FastifyReply, status: number, messages: string[]) =>
  reply.code(status).type('application/json').send({ errors: messages });

/**
 * The headers of every Vault answer that sets none of its own: `Content-Type` exactly (hvac reads
 * an error's body only then) and `Cache-Control: no-store`. app.ts gives them to each answer in
 * an `onSend` hook; an answer that no hook sees sets them itself.
 */
export const VAULT_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' } as const;

/**
 * {@link sendErrors} for an answer Fastify makes outside every route (`frameworkErrors`: a URL
 * its router cannot read), which no hook sees: the headers are set here, and the body goes as
 * bytes, since Fastify appends `; charset=utf-8` to a JSON type for anything else.
 */
export const sendErrorsWithoutHooks = (reply: FastifyReply, status: number, messages: string[]) =>
  reply
    .code(status)
    .headers(VAULT_HEADERS)
    .send(Buffer.from(JSON.stringify({ errors: messages })));

const fastifyStatus = (err: FastifyError): number | undefined => {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 413;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 415;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 400;
    default:
      return err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500
        ? err.statusCode
        : undefined;
  }
};

/**
 * The internal reason (logs, audit, metrics) of an error answered with `status`: an AuthgateError's
 * own, or one for Fastify's 4xx.
 */
export const reasonOf = (err: unknown, status: number): string => {
  if (isAuthgateError(err)) return err.reason;
  const e = err as { validation?: unknown; code?: string } | undefined;
  if (e?.validation !== undefined) return 'bad_request';
  if (e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return 'invalid_json';
  switch (status) {
    case 404:
      return 'not_found';
    case 405:
      return 'unsupported_operation';
    case 413:
      return 'body_too_large';
    default:
      return status >= 500 ? 'internal' : `http_${status}`;
  }
};

/** The status the error handler answers `err` with (see {@link installErrorHandling}). */
export const statusOf = (err: unknown): number => {
  if (isAuthgateError(err)) return err.status;
  const e = err as FastifyError;
  if (e.validation !== undefined) return 400;
  return fastifyStatus(e) ?? 500;
};

/**
 * `request.failed` lines of 503 answers (a dependency down) written per second at most; past that
 * they are counted, and one `request.failed_suppressed` line a second gives the count by reason.
 */
export const UNAVAILABLE_LOG_LINES_PER_SECOND = 20;

/**
 * Writes the `request.failed` line of an error answered outside the error handler (an answer
 * replaced after the fact, as one whose audit failed): a 500 always, a 503 within the budget of
 * {@link UNAVAILABLE_LOG_LINES_PER_SECOND} that the handler's own 503s share.
 */
export type FailureLog = (request: FastifyRequest, err: AuthgateError) => void;

/**
 * The one error handler: an `AuthgateError` is rendered with its registered status and
 * client-facing message; a schema failure is 400; a Fastify client error keeps its 4xx; anything
 * else is a bug → 500 `internal error`, logged with its stack (never echoed).
 */
export const installErrorHandling = (app: FastifyInstance): FailureLog => {
  // A dependency that is down fails every request that needs it: thousands of lines a second, each
  // with the same cause and stack, would bury the one that says why. Bugs (500) are never budgeted.
  const unavailableLines = createLogBudget({
    perSecond: UNAVAILABLE_LOG_LINES_PER_SECOND,
    // Monotonic: a wall clock stepped back would hold the budget spent for as long.
    nowMs: () => performance.now(),
    onSuppressed: ({ suppressed, reasons }) =>
      app.log.error({ event: 'request.failed_suppressed', suppressed, reasons }, 'request.failed_suppressed'),
  });
  app.addHook('onClose', async () => unavailableLines.flush());
  const logFailure: FailureLog = (request, err) => {
    // A 501 is the client's form (a transfer coding), not the server's failure: not logged.
    if (err.status === 500 || (err.status === 503 && unavailableLines.take(err.reason))) {
      request.log.error(
        { event: 'request.failed', reason: err.reason, detail: err.detail, err: err.cause },
        'request.failed',
      );
    }
  };
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (isAuthgateError(err)) {
      logFailure(request, err);
      // An empty message is Vault's bare answer (`{"errors":[]}`): a 404, a bad list flag.
      const messages = err.message === '' ? [] : [err.message];
      return sendErrors(reply, err.status, messages);
    }
    if (err.validation !== undefined) {
      const first = err.validation[0];
      const where = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
      const msg = where
        ? `invalid value for "${where}": ${first?.message ?? 'invalid'}`
        : (first?.message ?? 'invalid request');
      return sendErrors(reply, 400, [msg]);
    }
    const status = fastifyStatus(err);
    if (status !== undefined) {
      const message =
        status === 413
          ? 'request body too large'
          : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
            ? INVALID_JSON_MESSAGE
            : err.message;
      return sendErrors(reply, status, [message]);
    }
    request.log.error({ event: 'request.bug', err }, 'request.bug');
    return sendErrors(reply, 500, ['internal error']);
  });

  app.setNotFoundHandler((request, reply) => {
    // Vault refuses a method it has no operation for (OPTIONS, TRACE, PROPFIND…) with a bare
    // 405 before it looks for the path (http/logical.go buildLogicalRequestNoAuth).
    if (request.url.startsWith('/v1/') && !ANSWERED_METHODS.has(request.method))
      return sendErrors(reply, 405, []);
    return answerNoHandler(request, reply);
  });
  return logFailure;
};

/**
 * Vault's 404 for a path no handler serves: `no handler for route "<path>". route entry not
 * found.` The handler of the catch-all `/v1/*` route (behind the ACL, as Vault's router comes
 * after its token check) and of the not-found handler (paths outside `/v1/`).
 */
export const answerNoHandler = (request: FastifyRequest, reply: FastifyReply) => {
  // A token or accessor in one of Vault's old URL forms that reached no route (an encoded
  // slash, a method the form's route lacks) is not quoted: the message is audited in clear.
  const path = decodedPath(request.url);
  const inPath = tokenInPathErrorOf(path);
  if (inPath !== undefined) return sendErrors(reply, inPath.status, [inPath.message]);
  // Decoded, as Vault quotes its request path (Go's URL.Path), and as the audit reads the path:
  // a token sent percent-encoded is found there and HMAC'd (audit/hash.ts hashTokensIn).
  return sendErrors(reply, 404, [`no handler for route "${path}". route entry not found.`]);
};

/**
 * A route hook (`preValidation`) for routes whose body has a schema: a request with no body at
 * all (a `POST` without `Content-Type` or `Content-Length`, which no parser sees) has the body
 * `{}`, as Vault reads a missing body as no fields. `curl -X POST …/renew-self` renews.
 */
export const missingBodyIsEmpty = (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
  if (request.body === undefined) request.body = {};
  done();
};

/**
 * A route's `config` flag: `exactNumbers: true` parses its body with every number that a float64
 * would alter (`1.10`, `12345678901234567890`) kept as an `ExactNumber` holding its text, as
 * Vault's decoder (`UseNumber`) keeps it. For routes that store what the client sent (KV data) or
 * read their fields as Vault's framework does (the other KV routes: `1.0` is no integer there);
 * every other route keeps JSON.parse, which is several times faster (logins are the hot path).
 */
export type ExactNumbersRouteConfig = { exactNumbers?: boolean };

/**
 * Vault parses a request body as JSON whatever its Content-Type (`curl -d '{…}'` sends
 * application/x-www-form-urlencoded), so authgate does too, within the body limit, with Vault's
 * one exception: a POST or PUT whose type is a form and whose body does not begin with `{` or `[`
 * is a form (`curl -d role=web -d jwt=…`), read as Vault reads one (src/lib/go-form.ts), and one
 * Go cannot read is a 400 `error parsing form data`. A body that is not JSON (or too deeply nested to parse) is a 400 `error parsing JSON`;
 * a body of `null` is read as no fields, as Vault reads it; a DELETE's body is not read at all.
 * A route whose config has `exactNumbers` (see {@link ExactNumbersRouteConfig}; the route is known
 * when the body is parsed) gets its numbers exactly as written; its body may then nest only a few
 * thousand levels (that parser recurses): deeper is a 400, which the route would refuse anyway.
 */
export const installJsonForAnyContentType = (app: FastifyInstance, maxBodyBytes: number): void => {
  /** The Content-Type each request came with, for the parser (the header itself is set aside). */
  const formTypes = new WeakMap<object, string>();
  // Fastify refuses a Content-Type it cannot parse (`;`, `application/`, `a/b, c/d`) with a 415
  // of its own before any parser runs, body or not. What the type says has been read by then
  // (PATCH's check is in onRequest), so it is set aside: the body goes to the one parser below.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const type = request.headers['content-type'];
    if (typeof type === 'string') formTypes.set(request, type);
    delete request.headers['content-type'];
    done(null, payload);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxBodyBytes }, (request, body, done) => {
    // Vault reads a DELETE's fields from its query alone (buildLogicalRequestNoAuth): its body,
    // JSON or not, is never read, so it cannot make the request fail.
    if (request.method === 'DELETE') return done(null, undefined);
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if ((request.method === 'POST' || request.method === 'PUT') && isFormBody(formTypes.get(request), text)) {
      const form = parseFormBody(text);
      // Never the body in the message: it may hold a JWT.
      if (form === undefined) return done(badRequest('error parsing form data', 'bad_form_body'), undefined);
      return done(null, form);
    }
    if (text.trim() === '') return done(null, {});
    const exact = (request.routeOptions.config as ExactNumbersRouteConfig | undefined)?.exactNumbers === true;
    // Go's decoder refuses past 10 000 levels; JSON.parse would take its time over them first.
    if (jsonTooDeep(text)) {
      done(badRequest(INVALID_JSON_MESSAGE, 'json_too_deep'), undefined);
      return;
    }
    try {
      const parsed: unknown = exact ? parseExactJson(text) : JSON.parse(text);
      // Vault decodes the body into a map, where `null` leaves it empty: the Go client's
      // `Logical().Write(path, nil)` sends `null` (the Vault Secrets Operator renews its token so).
      done(null, parsed === null ? {} : parsed);
    } catch (err) {
      if (err instanceof RangeError) {
        done(badRequest(INVALID_JSON_MESSAGE, 'json_too_deep'), undefined);
        return;
      }
      // Never the parser's message: it quotes the start of the body, and a form body
      // (`jwt=eyJ…`) would put a token into the response and the logs.
      const e = new Error(INVALID_JSON_MESSAGE) as FastifyError;
      e.statusCode = 400;
      e.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
      done(e, undefined);
    }
  });
};

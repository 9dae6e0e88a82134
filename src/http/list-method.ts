import { STATUS_CODES } from 'node:http';
import { VAULT_HEADERS } from './vault-errors.js';

/*
 * Vault's `LIST` method. Node's HTTP parser (llhttp) knows a fixed set of methods and `LIST` is
 * not one of them: the request fails to parse before any route runs, and the server's
 * 'clientError' handler receives the raw bytes. This file reads such a request from those bytes
 * and writes the answer back; `client-errors.ts` does the socket side. Nothing here runs for a
 * request Node could parse, so normal requests pay nothing for it.
 */

/** The request target and headers of a `LIST` request, ready to be served as `GET ?list=true`. */
export type ListRequest = {
  /** Origin-form target with every `list` query parameter replaced by `list=true`. */
  url: string;
  /** Lower-cased names; duplicates combined as Node combines them; hop-by-hop headers dropped. */
  headers: Record<string, string>;
};

/** What the bytes received so far hold. */
export type ListHead =
  | { kind: 'list'; request: ListRequest }
  /** No end of head yet (`\r\n\r\n`), and still within the size limit: more bytes may follow. */
  | { kind: 'incomplete' }
  /** Answered with this status and message, and the connection closed. */
  | { kind: 'refused'; status: number; message: string };

/** Where a `LIST` request starts in a chunk llhttp failed on, or -1 when it is not one. */
export const listStart = (packet: Buffer, bytesParsed: number): number => {
  // Verified on Node 20 (llhttp 8/9): the parser accepts `LI` (a prefix of `LINK`) and fails on
  // the `S`, so `bytesParsed` is the request's start + 2, also after requests pipelined before
  // it in the same chunk. Only the bytes themselves are trusted: they must read `LIST `.
  for (const start of [bytesParsed - 2, 0]) {
    if (start >= 0 && packet.toString('latin1', start, start + 5) === 'LIST ') return start;
  }
  return -1;
};

/** An HTTP token character (RFC 9110 `tchar`), as a method is made of. */
const isTchar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
/** A whole request line with a method of any token, as Go's server reads it. */
const ANY_METHOD_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e]+ HTTP\/1\.[01]\r?\n/;

/**
 * Whether llhttp's failure at `bytesParsed` is on the method of a well-formed request line: a
 * method it does not know (`FOO`, `get`), which Go's server hands to Vault, and Vault answers
 * 405. The request starts where the run of token characters before the failing byte starts
 * (after any request pipelined before it in the same chunk).
 */
export const isUnknownMethod = (packet: Buffer, bytesParsed: number): boolean => {
  let start = Math.min(Math.max(bytesParsed, 0), packet.length);
  while (start > 0 && isTchar(packet[start - 1] ?? 0)) start--;
  return ANY_METHOD_LINE.test(packet.toString('latin1', start, start + 8192));
};

const REQUEST_LINE = /^LIST (\/[\x21-\x7e]*) HTTP\/1\.([01])$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';
/**
 * A header line's name and its value without the spaces and tabs around it; undefined when it is
 * no `name: value` line. By hand, not by one regular expression: `:[ \t]*(.*?)[ \t]*$` backtracks
 * over a run of spaces inside the value, quadratic in the line (a 16 KB header of spaces cost
 * 140 ms of the event loop, before any token was asked for).
 */
const headerField = (field: string): [name: string, value: string] | undefined => {
  const colon = field.indexOf(':');
  const name = field.slice(0, Math.max(colon, 0));
  if (!HEADER_NAME.test(name)) return undefined;
  let start = colon + 1;
  let end = field.length;
  while (start < end && isBlank(field[start])) start++;
  while (end > start && isBlank(field[end - 1])) end--;
  return [name, field.slice(start, end)];
};
/** Whether a header value holds a control character other than tab, as llhttp refuses. */
const hasControl = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
};
/** Headers Node keeps the first of when repeated (`IncomingMessage` `matchKnownFields`). */
const FIRST_WINS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);
/** Connection-level headers: about the connection the LIST came on, not the request served. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** The answer to an HTTP/1.1 request without a Host header (RFC 9112 §3.2), LIST or any other. */
export const MISSING_HOST_MESSAGE = 'missing Host header';
/** The answer to a request with more than one Host header (RFC 9112 §3.2; Go's server's words). */
export const TOO_MANY_HOSTS_MESSAGE = 'too many Host headers';
/**
 * The answer to a request whose Host holds a character no host or port has (a space, a slash, a
 * non-ASCII byte): Go's server (so Vault) refuses it, `httpguts.ValidHostHeader`.
 */
export const MALFORMED_HOST_MESSAGE = 'malformed Host header';
/** The bytes `httpguts.ValidHostHeader` allows: letters, digits, and `!$%&'()*+,-.:;=[]_~`. */
const HOST_BYTES = /^[0-9A-Za-z!$%&'()*+,\-.:;=[\]_~]*$/;
/** Whether Go's server takes `host` as a Host header's value. */
export const validHostHeader = (host: string): boolean => HOST_BYTES.test(host);
/** The answer (417) to an `Expect` other than `100-continue`, LIST or any other; never quoted. */
export const EXPECTATION_FAILED_MESSAGE = 'expectation failed: only "100-continue" is supported';
/** An `Expect` that asks to continue, as Node's server matches it (lib/_http_server.js). */
const CONTINUE_EXPECTATION = /(?:^|\W)100-continue(?:$|\W)/i;

const malformed = (message = 'malformed HTTP request'): ListHead => ({
  kind: 'refused',
  status: 400,
  message,
});

/**
 * Reads a `LIST` request from the bytes received, which start at its request line.
 *
 * @param bytes the request as received so far (more may follow while the answer is `incomplete`).
 * @param maxHeadBytes the most head bytes accepted, as Node's `maxHeaderSize`; over it → 431.
 * @returns the request, `incomplete`, or `refused` (400 for a malformed head or a body, 431 when
 *   too large, 417 for an HTTP/1.1 `Expect` other than `100-continue`). Messages never quote the bytes: the head carries the client token.
 */
export const parseListHead = (bytes: Buffer, maxHeadBytes: number): ListHead => {
  const end = bytes.indexOf('\r\n\r\n', 0, 'latin1');
  if (end === -1 || end > maxHeadBytes) {
    if (end === -1 && bytes.length <= maxHeadBytes) return { kind: 'incomplete' };
    return { kind: 'refused', status: 431, message: 'request header fields too large' };
  }
  const [line = '', ...fields] = bytes.toString('latin1', 0, end).split('\r\n');
  const target = REQUEST_LINE.exec(line);
  if (target === null) return malformed();
  if (!servableTarget(target[1] ?? '/')) return malformed('invalid request path');
  const headers: Record<string, string> = {};
  let bodyHeader = false;
  let hosts = 0;
  for (const field of fields) {
    const m = headerField(field);
    // Also refuses obs-fold (a line starting with a space), as llhttp does.
    if (m === undefined || hasControl(m[1])) return malformed();
    const name = m[0].toLowerCase();
    const value = m[1];
    if (name === 'transfer-encoding' || (name === 'content-length' && value !== '0')) bodyHeader = true;
    if (name === 'host') hosts++;
    if (HOP_BY_HOP.has(name)) continue;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    // Of the token headers, the one Vault reads (client-token.ts): the first X-Vault-Token, and
    // the first Authorization that is a Bearer one (inject carries one value of each).
    else if (name === 'authorization') {
      if (!previous.startsWith('Bearer ') && value.startsWith('Bearer ')) headers[name] = value;
    } else if (!FIRST_WINS.has(name) && name !== 'x-vault-token') headers[name] = `${previous}, ${value}`;
  }
  // Vault's LIST takes its parameters from the query string; a body would also leave bytes on
  // the connection that no parser reads.
  if (bodyHeader) return malformed('a LIST request must not have a body');
  if (target[2] === '1' && headers['host'] === undefined) return malformed(MISSING_HOST_MESSAGE);
  if (hosts > 1) return malformed(TOO_MANY_HOSTS_MESSAGE);
  if (headers['host'] !== undefined && !validHostHeader(headers['host']))
    return malformed(MALFORMED_HOST_MESSAGE);
  // As Node's server answers any other HTTP/1.1 request (client-errors.ts createExpectationHandler):
  // an empty Expect is ignored, one that asks for something else than to continue is refused.
  const expectation = headers['expect'] ?? '';
  if (target[2] === '1' && expectation.trim() !== '' && !CONTINUE_EXPECTATION.test(expectation))
    return { kind: 'refused', status: 417, message: EXPECTATION_FAILED_MESSAGE };
  return { kind: 'list', request: { url: listUrl(target[1] ?? '/'), headers } };
};

/**
 * Whether a LIST target reaches, through `inject`, the path a parsed request with that target
 * would: inject reads its URL with the WHATWG parser, which resolves `.` and `..` segments (also
 * percent-encoded), turns `\` into `/` and cuts at `#`. A parsed request keeps the target as
 * sent, and the ACL hook refuses a `..` segment; so all of these are refused here.
 */
const servableTarget = (target: string): boolean => {
  if (target.includes('#') || target.includes('\\')) return false;
  const q = target.indexOf('?');
  for (const segment of (q === -1 ? target : target.slice(0, q)).split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('\\')) return false;
  }
  return true;
};

const queryKey = (part: string): string => {
  const key = part.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
};

/**
 * `LIST <target>` as Vault serves it: `GET <target>` with `list=true`. A `list` parameter the
 * client also sent is dropped (the method already says it lists), compared after decoding as the
 * query parser decodes, so `li%73t=false` cannot turn it into a repeated, refused flag.
 */
export const listUrl = (target: string): string => {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const kept =
    q === -1
      ? []
      : target
          .slice(q + 1)
          .split('&')
          .filter((p) => p !== '' && queryKey(p) !== 'list');
  return `${path}?${[...kept, 'list=true'].join('&')}`;
};

/** An answer as `inject` gives it. */
export type ServedResponse = {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  rawPayload: Buffer;
};

/** Headers the answer's own framing replaces. */
const FRAMING = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

/**
 * The HTTP/1.1 bytes of an answer on a connection that ends with it: `Content-Length` framing,
 * `Connection: close` (the parser of this connection failed and reads nothing more).
 *
 * @param nowMs the time for the `Date` header, ms since the epoch.
 */
export const serializeResponse = (res: ServedResponse, nowMs: number): Buffer => {
  const lines = [`HTTP/1.1 ${res.statusCode} ${STATUS_CODES[res.statusCode] ?? 'Unknown'}`];
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || FRAMING.has(name.toLowerCase())) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  lines.push(
    `Date: ${new Date(nowMs).toUTCString()}`,
    `Content-Length: ${res.rawPayload.length}`,
    'Connection: close',
  );
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), res.rawPayload]);
};

/**
 * A Vault error answer (`{"errors":[message]}`; a list of messages as given, none for Vault's
 * bare errors) on a connection that ends with it.
 */
export const errorResponse = (status: number, message: string | readonly string[], nowMs: number): Buffer =>
  serializeResponse(
    {
      statusCode: status,
      // As every other answer of the app (app.ts installResponseHeaders).
      headers: VAULT_HEADERS,
      rawPayload: Buffer.from(JSON.stringify({ errors: typeof message === 'string' ? [message] : message })),
    },
    nowMs,
  );

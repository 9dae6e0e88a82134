import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { AuthgateError, badRequest, isAuthgateError, permissionDenied } from '../../errors.js';
import { containsExactNumber, stringifyExactJson } from '../../lib/exact-json.js';
import { parseGoBool } from '../../lib/go-bool.js';
import { parseGoMediaType } from '../../lib/go-mime.js';
import {
  bodyObject,
  fieldWarnings,
  parseConfigBody,
  parseMetadataBody,
  parseMetadataPatch,
  parseDataQuery,
  parseSubkeysQuery,
  readQuery,
  parseVersions,
  parseWriteBody,
  secretPathOf,
  type KvEngine,
} from '../../secrets/index.js';
import { isList } from '../acl-hook.js';
import { requestAuthOf, type AclRouteConfig } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { sendErrors, type ExactNumbersRouteConfig } from '../vault-errors.js';
import { registerUiMounts, type UiMountsDeps } from './ui-mounts-route.js';

/** What the KV routes need: the engines by mount, and what `sys/internal/ui/mounts` answers from. */
export type KvRouteDeps = UiMountsDeps;

type Engine = KvEngine;
type Reply = FastifyReply;

const ALL_METHODS: HTTPMethods[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const MERGE_PATCH = 'application/merge-patch+json';
const MOUNT_TYPE = 'kv';
/** Paths whose bare name is Vault's "root of a K/V v2 mount". */
const ROOTS = new Set(['data', 'metadata', 'delete', 'undelete', 'destroy']);
/** Operations whose pattern also matches an empty path: listing their bare name reaches them. */
const LISTED_TO_OPERATION = new Set(['delete', 'undelete', 'destroy', 'subkeys']);

/** The secret path: the rest of the URL after `<mount>/<op>/`, percent-decoded by the router. */
const pathOf = (request: FastifyRequest): string => (request.params as { '*'?: string })['*'] ?? '';
const query = (request: FastifyRequest): Record<string, unknown> =>
  (request.query as Record<string, unknown> | undefined) ?? {};

/**
 * Whether a GET is a list (`?list=true`, also how a `LIST` request arrives). Go's
 * ParseBool values; anything else is Vault's bare 400. A repeated `list` is refused too, so that
 * route and ACL hook (which reads a single value) never disagree on what the request is.
 */
const isListRequest = (request: FastifyRequest, reply: Reply): boolean | 'answered' => {
  // Only a GET lists: the ACL hook checks a HEAD as a read, so a HEAD must not list.
  if (request.method !== 'GET') return false;
  const raw = query(request)['list'];
  if (raw === undefined || raw === '') return false;
  const flag = typeof raw === 'string' ? parseGoBool(raw) : undefined;
  if (flag !== undefined) return flag;
  void sendErrors(reply, 400, []);
  return 'answered';
};

/** The request's method, HEAD answered as GET (Fastify routes HEAD to the GET handler; the ACL hook checks `read`). */
const verb = (request: FastifyRequest): string => (request.method === 'HEAD' ? 'GET' : request.method);

const unsupported = () => new AuthgateError('UNSUPPORTED_OPERATION', { reason: 'kv_unsupported_operation' });

/**
 * Vault's answer to a path its KV v2 backend has no handler for: 404 with a warning (and an
 * envelope, not `errors`), e.g. `secret/foo` instead of `secret/data/foo`. `rest` is the path
 * after the mount, with the `/` Vault appends to a listed path.
 */
const invalidPath = (request: FastifyRequest, reply: Reply, rest: string, list: boolean) => {
  const verbs: Partial<Record<string, string>> = {
    GET: list ? 'list' : 'get',
    POST: 'put',
    PUT: 'put',
    PATCH: 'patch',
    DELETE: 'delete',
  };
  const warning = ROOTS.has(rest)
    ? 'Non-listing operations on the root of a K/V v2 mount are not supported.'
    : `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${verbs[verb(request)] ?? ''}' for this operation.`;
  return reply.code(404).send(envelope(request.id, { warnings: [warning] }));
};

/**
 * PATCH needs JSON merge patch, on every path of the mount (Vault's HTTP layer reads the type with
 * Go's `mime.ParseMediaType` while building the request, before any handler is chosen: a type
 * that does not parse is a 400 with Go's message, another type a 415, and only then may the path
 * answer 405). Checked in each route's `onRequest`, before the body is read (the global ACL hook
 * still runs first).
 */
const requireMergePatch = async (request: FastifyRequest, reply: Reply): Promise<Reply | undefined> => {
  if (verb(request) !== 'PATCH') return undefined;
  const parsed = parseGoMediaType(request.headers['content-type'] ?? '');
  if ('error' in parsed) throw badRequest(parsed.error, 'kv_bad_content_type');
  if (parsed.mediaType === MERGE_PATCH) return undefined;
  return sendErrors(reply, 415, [
    `PATCH requires Content-Type of ${MERGE_PATCH}, provided ${parsed.mediaType}`,
  ]);
};

/** A data path names a secret: not empty, no trailing slash (Vault's pattern `.*?[^/]$`). */
const isSecretPath = (path: string): boolean => path !== '' && !path.endsWith('/');

type Fields = Parameters<typeof fieldWarnings>[0];

/**
 * Vault's answer with a body: `data` (none for an answer of warnings alone), the handler's own
 * warnings, then the framework's about the request's fields (see {@link fieldWarnings}): a
 * write's body, else the query, without a list's own flag. `config` has no path capture.
 */
const ok = (
  request: FastifyRequest,
  fields: Fields,
  data: Record<string, unknown> | null,
  warnings: string[] = [],
) => {
  const raw = verb(request) === 'GET' ? { ...query(request) } : bodyObject(request.body);
  if (isList(request)) delete raw['list'];
  return envelope(request.id, {
    data,
    mountType: MOUNT_TYPE,
    warnings: [...warnings, ...fieldWarnings(fields, raw, fields !== 'config')],
  });
};

/** Vault's 404 that still carries the version's metadata (deleted or destroyed); `mount_type` is empty there. */
const gone = (request: FastifyRequest, reply: Reply, data: Record<string, unknown>) =>
  reply.code(404).send(envelope(request.id, { data }));

/**
 * Secret data holding numbers kept as their text (`1.10`) is answered with that text, as Vault
 * answers it; any other answer keeps Fastify's serializer (JSON.stringify).
 */
const serializeExactly = (reply: Reply, value: unknown): void => {
  if (containsExactNumber(value)) void reply.serializer(stringifyExactJson);
};

/**
 * A write of `data/` or `metadata/` (`write(options)`), refused with the ACL's `permission
 * denied` when `create` alone allowed it and the engine, under its lock, finds the secret exists:
 * the ACL checked it absent before the body was read, and a concurrent create in between must not
 * turn this request into an overwrite its policy does not grant.
 */
const writeOnce = async <T>(
  request: FastifyRequest,
  path: string,
  write: (options: { absentOnly: boolean }) => Promise<T>,
): Promise<T> => {
  try {
    return await write({ absentOnly: requestAuthOf(request)?.createOnly === true });
  } catch (err) {
    if (isAuthgateError(err) && err.reason === 'kv_exists')
      throw permissionDenied('acl_denied', `${path} exists`);
    throw err;
  }
};

const registerData = (app: FastifyInstance, base: string, engine: Engine) => {
  const exists = (request: FastifyRequest) => engine.exists(pathOf(request));
  app.route({
    method: ALL_METHODS,
    url: `${base}/data/*`,
    // Bodies written here are stored: their numbers are kept exactly as the client wrote them.
    config: { acl: { exists }, exactNumbers: true } satisfies AclRouteConfig & ExactNumbersRouteConfig,
    onRequest: requireMergePatch,
    handler: async (request, reply) => {
      const path = pathOf(request);
      const list = verb(request) === 'GET' ? isListRequest(request, reply) : false;
      if (list === 'answered') return reply;
      // Vault appends `/` to a listed path, which the data pattern never matches.
      if (list || !isSecretPath(path))
        return invalidPath(request, reply, `data/${path}${list ? '/' : ''}`, list);
      switch (verb(request)) {
        case 'GET': {
          const result = await engine.read(path, parseDataQuery(query(request)));
          if (result.kind === 'gone') return gone(request, reply, { data: null, metadata: result.metadata });
          serializeExactly(reply, result.value);
          return ok(request, 'data', { data: result.value, metadata: result.metadata });
        }
        case 'PATCH': {
          const result = await engine.patch(path, parseWriteBody(request.body));
          if (result.kind === 'gone') return gone(request, reply, result.metadata);
          return ok(request, 'data', result.value);
        }
        case 'DELETE':
          parseDataQuery(query(request));
          await engine.deleteLatest(path);
          return reply.code(204).send();
        default: {
          // Check-and-set is checked as for any write, create-only or not.
          const input = parseWriteBody(request.body);
          return ok(request, 'data', await writeOnce(request, path, (o) => engine.write(path, input, o)));
        }
      }
    },
  });
};

const registerMetadata = (app: FastifyInstance, base: string, engine: Engine) => {
  const exists = (request: FastifyRequest) => engine.exists(pathOf(request));
  const handler = async (request: FastifyRequest, reply: Reply) => {
    const path = pathOf(request);
    switch (verb(request)) {
      case 'GET': {
        const list = isListRequest(request, reply);
        if (list === 'answered') return reply;
        readQuery('metadata', query(request));
        if (list) {
          const keys = await engine.list(path);
          // As Vault: nothing to list is a 404 with no message.
          if (keys.length === 0) throw new AuthgateError('NOT_FOUND', { reason: 'kv_list_empty' });
          return ok(request, 'metadata', { keys });
        }
        return ok(request, 'metadata', { ...(await engine.readMetadata(path)) });
      }
      case 'PATCH': {
        const { warnings } = await engine.patchMetadata(path, parseMetadataPatch(request.body));
        // As Vault: an answer only when the handler has a warning of its own.
        return warnings.length > 0 ? ok(request, 'metadata', null, warnings) : reply.code(204).send();
      }
      case 'DELETE':
        readQuery('metadata', query(request));
        await engine.deleteMetadata(path);
        return reply.code(204).send();
      default: {
        const input = parseMetadataBody(request.body);
        const { warnings } = await writeOnce(request, path, (o) => engine.writeMetadata(path, input, o));
        // As Vault: an answer only when the handler has a warning of its own.
        return warnings.length > 0 ? ok(request, 'metadata', null, warnings) : reply.code(204).send();
      }
    }
  };
  app.route({
    method: ALL_METHODS,
    url: `${base}/metadata/*`,
    config: { acl: { exists, actsOn: secretPathOf }, exactNumbers: true } satisfies AclRouteConfig &
      ExactNumbersRouteConfig,
    onRequest: requireMergePatch,
    handler,
  });
  // `<mount>/metadata` itself: only a list of the mount's root.
  app.route({
    method: ALL_METHODS,
    url: `${base}/metadata`,
    config: { acl: {} } satisfies AclRouteConfig,
    onRequest: requireMergePatch,
    handler: async (request, reply) => {
      const list = verb(request) === 'GET' ? isListRequest(request, reply) : false;
      if (list === 'answered') return reply;
      if (!list) return invalidPath(request, reply, 'metadata', false);
      return handler(request, reply);
    },
  });
};

/** `delete/`, `undelete/`, `destroy/`: POST/PUT `{versions}`, 204; any other method 405. */
const registerVersionOps = (app: FastifyInstance, base: string, engine: Engine) => {
  const ops = {
    delete: (path: string, versions: number[]) => engine.deleteVersions(path, versions),
    undelete: (path: string, versions: number[]) => engine.undeleteVersions(path, versions),
    destroy: (path: string, versions: number[]) => engine.destroyVersions(path, versions),
  };
  for (const [name, run] of Object.entries(ops)) {
    app.route({
      method: ALL_METHODS,
      url: `${base}/${name}/*`,
      config: { acl: { actsOn: secretPathOf }, exactNumbers: true } satisfies AclRouteConfig &
        ExactNumbersRouteConfig,
      onRequest: requireMergePatch,
      handler: async (request, reply) => {
        if (verb(request) !== 'POST' && verb(request) !== 'PUT') {
          const list = verb(request) === 'GET' ? isListRequest(request, reply) : false;
          if (list === 'answered') return reply;
          throw unsupported();
        }
        await run(pathOf(request), parseVersions(request.body));
        return reply.code(204).send();
      },
    });
  }
};

const registerConfigAndSubkeys = (app: FastifyInstance, base: string, engine: Engine) => {
  app.route({
    method: ALL_METHODS,
    url: `${base}/config`,
    config: { acl: {}, exactNumbers: true } satisfies AclRouteConfig & ExactNumbersRouteConfig,
    onRequest: requireMergePatch,
    handler: async (request, reply) => {
      if (verb(request) === 'GET') {
        const list = isListRequest(request, reply);
        if (list === 'answered') return reply;
        // A listed `config/` matches no pattern of the backend.
        if (list) return invalidPath(request, reply, 'config/', true);
        readQuery('config', query(request));
        return ok(request, 'config', { ...(await engine.readConfig()) });
      }
      if (verb(request) === 'POST' || verb(request) === 'PUT') {
        await engine.writeConfig(parseConfigBody(request.body));
        return reply.code(204).send();
      }
      throw unsupported();
    },
  });

  app.route({
    method: ALL_METHODS,
    url: `${base}/subkeys/*`,
    config: { acl: { actsOn: secretPathOf } } satisfies AclRouteConfig,
    onRequest: requireMergePatch,
    handler: async (request, reply) => {
      if (verb(request) !== 'GET') throw unsupported();
      const list = isListRequest(request, reply);
      if (list === 'answered') return reply;
      if (list) throw unsupported();
      const { version, depth } = parseSubkeysQuery(query(request));
      const result = await engine.subkeys(pathOf(request), version, depth);
      if (result.kind === 'gone') return gone(request, reply, { subkeys: null, metadata: result.metadata });
      return ok(request, 'subkeys', { subkeys: result.value, metadata: result.metadata });
    },
  });

  // Anything else under the mount: Vault's "invalid path" 404 with a hint. A list of an
  // operation's root (`delete?list=true` is `delete/`) reaches that operation, which cannot list.
  const rest = async (request: FastifyRequest, reply: Reply) => {
    const list = verb(request) === 'GET' ? isListRequest(request, reply) : false;
    if (list === 'answered') return reply;
    const path = pathOf(request);
    if (list && LISTED_TO_OPERATION.has(path)) throw unsupported();
    return invalidPath(request, reply, list && !path.endsWith('/') ? `${path}/` : path, list);
  };
  app.route({
    method: ALL_METHODS,
    url: `${base}/*`,
    config: { acl: {} } satisfies AclRouteConfig,
    onRequest: requireMergePatch,
    handler: rest,
  });
  app.route({
    method: ALL_METHODS,
    url: base,
    config: { acl: {} } satisfies AclRouteConfig,
    onRequest: requireMergePatch,
    handler: rest,
  });
};

/**
 * Vault's KV v2 HTTP API for each engine's mount (`/v1/<mount>/…`): `data/` (read with
 * `?version=`, write, JSON-merge-patch, soft delete), `metadata/` (read, `?list=true`, write,
 * patch, delete), `delete/`, `undelete/`, `destroy/`, `config`, `subkeys/`, Vault's 404 hints for
 * other paths, 405 for unsupported methods; and `sys/internal/ui/mounts/<path>` for the vault CLI.
 *
 * Every route of a mount declares `config.acl` (writes to `data/` and `metadata/` with Vault's
 * existence check), so the ACL hook guards them; the routes themselves never look at the token.
 */
export const registerKvRoutes = (app: FastifyInstance, deps: KvRouteDeps): void => {
  for (const [mountPath, engine] of deps.engines) {
    const base = `/v1/${mountPath}`;
    registerData(app, base, engine);
    registerMetadata(app, base, engine);
    registerVersionOps(app, base, engine);
    registerConfigAndSubkeys(app, base, engine);
  }
  registerUiMounts(app, deps);
};

/**
 * Kubernetes `Status` bodies: the shape the API server returns for every failed request, with the
 * exact message formats of apimachinery's `errors.New*` helpers.
 */

/** One problem in `Status.details.causes` (all members `omitempty` in Go). */
export type StatusCause = { reason?: string; message?: string; field?: string };

/** `Status.details` (all members `omitempty` in Go). */
export type StatusDetails = {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
};

/** A `Status` object as serialized by the API server (member order is Go's struct order). */
export type StatusBody = {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
};

/**
 * An API error with its HTTP status, its Status `reason` and message. The simulator's programmatic
 * API (`mintToken`, `createPod`, …) throws it with the same message the HTTP API would return.
 */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  /** Extra response headers (`Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    code: number,
    reason: string,
    message: string,
    details?: StatusDetails,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'KubeApiError';
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.headers = headers;
  }

  /** The Status body for this error. */
  toStatus(): StatusBody {
    return statusBody(this.code, this.reason, this.message, this.details);
  }
}

/** A Status body, omitting `details` when absent as Go's `omitempty` does. */
export const statusBody = (
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): StatusBody => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

/** `group.resource` as apimachinery's `GroupResource.String()` prints it. */
const qualified = (resource: string, group: string): string => (group ? `${resource}.${group}` : resource);

const detailsFor = (name: string, resource: string, group: string): StatusDetails => ({
  ...(name ? { name } : {}),
  ...(group ? { group } : {}),
  kind: resource,
});

/** 404 `<resource> "<name>" not found` (`errors.NewNotFound`). */
export const notFound = (resource: string, name: string, group = ''): KubeApiError =>
  new KubeApiError(
    404,
    'NotFound',
    `${qualified(resource, group)} "${name}" not found`,
    detailsFor(name, resource, group),
  );

/** 409 `<resource> "<name>" already exists` (`errors.NewAlreadyExists`). */
export const alreadyExists = (resource: string, name: string, group = ''): KubeApiError =>
  new KubeApiError(
    409,
    'AlreadyExists',
    `${qualified(resource, group)} "${name}" already exists`,
    detailsFor(name, resource, group),
  );

/** 409 `Operation cannot be fulfilled on <resource> "<name>": <why>` (`errors.NewConflict`). */
export const conflict = (resource: string, name: string, why: string, group = ''): KubeApiError =>
  new KubeApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`,
    detailsFor(name, resource, group),
  );

/** 400 with a free-form message (`errors.NewBadRequest`). */
export const badRequest = (message: string): KubeApiError => new KubeApiError(400, 'BadRequest', message);

/** 401 exactly as the API server answers a request without valid credentials. */
export const unauthorized = (): KubeApiError => new KubeApiError(401, 'Unauthorized', 'Unauthorized');

/**
 * 403 as the RBAC authorizer words it. `namespace` empty means a cluster-scoped request
 * (`at the cluster scope`).
 */
export const forbidden = (r: {
  user: string;
  verb: string;
  resource: string;
  subresource?: string;
  group: string;
  name?: string;
  namespace?: string;
}): KubeApiError => {
  const target = r.name
    ? `${qualified(r.resource, r.group)} "${r.name}"`
    : `${qualified(r.resource, r.group)}`;
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  const scope = r.namespace ? `in the namespace "${r.namespace}"` : 'at the cluster scope';
  return new KubeApiError(
    403,
    'Forbidden',
    `${target} is forbidden: User "${r.user}" cannot ${r.verb} resource "${resource}" in API group "${r.group}" ${scope}`,
    detailsFor(r.name ?? '', r.resource, r.group),
  );
};

/**
 * 422 for one invalid field (`errors.NewInvalid` with one `field.Invalid`). `value` is printed as Go
 * does: strings quoted, numbers bare.
 */
export const invalidField = (r: {
  kind: string;
  group: string;
  name: string;
  field: string;
  value: string | number;
  detail: string;
}): KubeApiError => {
  const shown = typeof r.value === 'string' ? JSON.stringify(r.value) : String(r.value);
  const cause = `Invalid value: ${shown}: ${r.detail}`;
  return new KubeApiError(
    422,
    'Invalid',
    `${qualified(r.kind, r.group)} "${r.name}" is invalid: ${r.field}: ${cause}`,
    {
      ...(r.name ? { name: r.name } : {}),
      ...(r.group ? { group: r.group } : {}),
      kind: r.kind,
      causes: [{ reason: 'FieldValueInvalid', message: cause, field: r.field }],
    },
  );
};

/** 404 for a path the server does not serve. */
export const pathNotFound = (): KubeApiError =>
  new KubeApiError(404, 'NotFound', 'the server could not find the requested resource', {});

/** 405 for a method the resource does not support. */
export const methodNotAllowed = (): KubeApiError =>
  new KubeApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );

/** Reason and message used when a fault is injected with `failNext(n, status)`. */
export const injectedFault = (code: number): KubeApiError => {
  switch (code) {
    case 429:
      return new KubeApiError(
        429,
        'TooManyRequests',
        'the server has received too many requests and has asked us to try again later',
        { retryAfterSeconds: 1 },
        { 'Retry-After': '1' },
      );
    case 503:
      return new KubeApiError(
        503,
        'ServiceUnavailable',
        'the server is currently unable to handle the request',
        {
          retryAfterSeconds: 1,
        },
      );
    case 504:
      return new KubeApiError(
        504,
        'Timeout',
        'the server was unable to return a response in the time allotted, but may still be processing the request',
        {},
      );
    case 500:
      return new KubeApiError(500, 'InternalError', 'Internal error occurred: injected fault', {
        causes: [{ message: 'injected fault' }],
      });
    default:
      return new KubeApiError(code, code >= 500 ? 'InternalError' : 'BadRequest', `injected fault (${code})`);
  }
};

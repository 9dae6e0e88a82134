/**
 * `POST` of namespaces, service accounts and pods, as `kubectl create` sends them: the simulator
 * keeps only the fields a verifier uses (name, labels, serviceAccountName, nodeName). Admin only.
 * A name that exists answers 409 AlreadyExists, as the API server does.
 */
import type { IncomingMessage } from 'node:http';
import { alreadyExists, badRequest } from './api-status.js';
import { readJsonBody } from './http-server.js';
import type { ObjectStore } from './objects.js';
import { namespaceJson, podJson, serviceAccountJson, type JsonObject } from './shapes.js';

type Body = { metadata?: { name?: unknown; labels?: unknown }; spec?: Record<string, unknown> };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const readObject = async (
  req: IncomingMessage,
): Promise<{ name: string; labels?: Record<string, string>; spec: Record<string, unknown> }> => {
  const body = ((await readJsonBody(req)) ?? {}) as Body;
  const name = body.metadata?.name;
  if (typeof name !== 'string' || !DNS_LABEL.test(name) || name.length > 253) {
    throw badRequest(
      `metadata.name: Invalid value: ${JSON.stringify(name ?? '')}: a lowercase RFC 1123 label is required`,
    );
  }
  const rawLabels = body.metadata?.labels;
  const labels =
    typeof rawLabels === 'object' && rawLabels !== null
      ? Object.fromEntries(
          Object.entries(rawLabels).filter((e): e is [string, string] => typeof e[1] === 'string'),
        )
      : undefined;
  return { name, ...(labels ? { labels } : {}), spec: body.spec ?? {} };
};

export type CreateKind = 'namespaces' | 'serviceaccounts' | 'pods';

/** Creates one object from a request body; resolves the created object's JSON. */
export const createFromRequest = async (
  objects: ObjectStore,
  kind: CreateKind,
  req: IncomingMessage,
  namespace?: string,
): Promise<JsonObject> => {
  const o = await readObject(req);
  switch (kind) {
    case 'namespaces':
      if (objects.getNamespace(o.name)) throw alreadyExists('namespaces', o.name);
      return namespaceJson(objects.createNamespace(o.name, o.labels));
    case 'serviceaccounts':
      if (objects.getServiceAccount(namespace ?? '', o.name)) throw alreadyExists('serviceaccounts', o.name);
      return serviceAccountJson(objects.createServiceAccount(namespace ?? '', o.name));
    case 'pods': {
      const sa = o.spec['serviceAccountName'];
      const nodeName = o.spec['nodeName'];
      return podJson(
        objects.createPod({
          namespace: namespace ?? '',
          name: o.name,
          serviceAccount: typeof sa === 'string' && sa !== '' ? sa : 'default',
          ...(typeof nodeName === 'string' ? { nodeName } : {}),
          ...(o.labels ? { labels: o.labels } : {}),
        }),
      );
    }
  }
};

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { parse, stringify } from 'yaml';
import { parseConfig, type AuthgateConfig } from '../src/config/index.js';
import { kubernetesMount, TEST_CERT } from '../src/config/test-support.js';
import { findObject, renderKustomization, type K8sObject } from './helpers/kustomize.js';
import { podSpecOf } from './helpers/pod-security.js';

/*
 * The authgate.yaml that each overlay's ConfigMap carries is loaded by authgate's own config
 * loader (so a field renamed in src/config/ breaks this test, not a rollout), and every file it
 * names is mounted into the authgate container from the volume that holds it.
 */

const OVERLAYS = ['deploy/overlays/dev', 'deploy/overlays/production'] as const;
type Overlay = (typeof OVERLAYS)[number];

const rendered = new Map<Overlay, K8sObject[]>();
let example: K8sObject[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'authgate-deploy-config-'));
beforeAll(() => {
  for (const k of OVERLAYS) rendered.set(k, renderKustomization(k));
  example = renderKustomization('deploy/examples/workload');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const objectsOf = (k: Overlay): K8sObject[] => rendered.get(k) ?? [];

const configText = (k: Overlay): string => {
  const data = findObject(objectsOf(k), 'ConfigMap', 'authgate-config')['data'] as Record<string, string>;
  expect(Object.keys(data)).toEqual(['authgate.yaml']);
  return data['authgate.yaml'] ?? '';
};

/** Every `*_file` field of a config document: its dotted path and the file it names. */
const fileFields = (doc: unknown, at = ''): Array<{ field: string; file: string }> => {
  if (typeof doc !== 'object' || doc === null) return [];
  return Object.entries(doc).flatMap(([key, value]) => {
    const field = at === '' ? key : `${at}.${key}`;
    return key.endsWith('_file') && typeof value === 'string'
      ? [{ field, file: value }]
      : fileFields(value, field);
  });
};

/** Plausible content for a file the config names, by the field that names it. */
const contentFor = (field: string): string => {
  if (/ca(_cert)?_file$/.test(field)) return TEST_CERT;
  if (field.endsWith('server_key_file') || field.endsWith('encryption_key_file')) return 'k'.repeat(48);
  if (field.endsWith('admin_token_file')) return 'agadmin.' + 'a'.repeat(24);
  if (field.endsWith('token_reviewer_jwt_file')) return 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln';
  return 'placeholder';
};

/**
 * Loads an overlay's authgate.yaml with authgate's loader, each file it names replaced by a
 * plausible one at the same path under a scratch directory (the loader reads them at start).
 */
const loadDeployedConfig = (k: Overlay): AuthgateConfig => {
  const doc = parse(configText(k)) as Record<string, unknown>;
  const root = join(scratch, k.replaceAll('/', '_'));
  const relocate = (node: unknown, at: string): void => {
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      const field = at === '' ? key : `${at}.${key}`;
      if (key.endsWith('_file') && typeof value === 'string') {
        const file = join(root, value);
        mkdirSync(dirname(file), { recursive: true });
        // As the manifests mount them: the Secret and config volumes' defaultMode 0440.
        writeFileSync(file, contentFor(field), { mode: 0o440 });
        (node as Record<string, unknown>)[key] = file;
      } else {
        relocate(value, field);
      }
    }
  };
  relocate(doc, '');
  return parseConfig(stringify(doc), { source: `${k}/authgate.yaml`, baseDir: root, env: {} });
};

describe.each(OVERLAYS)('%s: authgate.yaml', (k) => {
  it('is a valid config for authgate, warning only that the listener (and so the issuer) has no TLS', () => {
    const config = loadDeployedConfig(k);
    expect(config.warnings).toEqual([
      'identity.issuer: plain HTTP (authgate.authgate.svc.cluster.local:8200): services that fetch the signing keys from it can be fed others',
      'listener has no TLS: tokens travel in clear text',
    ]);
  });

  it('listens on every interface of the pod, on the container port', () => {
    const config = loadDeployedConfig(k);
    expect(config.listener).toMatchObject({ address: '0.0.0.0', port: 8200 });
    const pod = podSpecOf(findObject(objectsOf(k), 'Deployment', 'authgate')) as IPodSpec;
    expect(pod.containers[0]?.ports?.[0]?.containerPort).toBe(config.listener.port);
  });

  it('keeps tokens in Redis, with the server key and admin token every replica shares', () => {
    const config = loadDeployedConfig(k);
    expect(config.store.type).toBe('redis');
    expect(config.serverKey).toBeDefined();
    expect(config.adminToken).toBeDefined();
  });

  it('verifies tokens by TokenReview against the API server with the in-pod CA and reviewer token', () => {
    const mount = kubernetesMount(loadDeployedConfig(k));
    expect(mount).toMatchObject({
      verification: 'tokenreview',
      kubernetesHost: 'https://kubernetes.default.svc',
      tokenReviewerJwtFile: expect.stringMatching(
        /\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token$/,
      ),
    });
    expect(mount?.kubernetesCaCert).toContain('BEGIN CERTIFICATE');
    for (const role of mount?.roles.values() ?? []) expect(role.audience, role.name).toBe('vault');
  });

  it('names only files that the authgate container mounts, from volumes that hold them', () => {
    const objects = objectsOf(k);
    const pod = podSpecOf(findObject(objects, 'Deployment', 'authgate')) as IPodSpec;
    const container = pod.containers.find((c) => c.name === 'authgate');
    const files = fileFields(parse(configText(k)));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const { field, file } of files) {
      const mount = container?.volumeMounts?.find((m) => posix.dirname(file) === m.mountPath);
      expect(mount, `${field}: ${file} is not in a mounted directory`).toBeDefined();
      const volume = pod.volumes?.find((v) => v.name === mount?.name);
      const key = posix.basename(file);
      // The keys the volume provides, where the manifests say them.
      let keys: string[] | undefined;
      if (volume?.projected !== undefined) {
        keys = volume.projected.sources?.flatMap((s) => [
          ...(s.serviceAccountToken === undefined ? [] : [s.serviceAccountToken.path]),
          ...(s.configMap?.items ?? []).map((i) => i.path),
          ...(s.secret?.items ?? []).map((i) => i.path),
          ...(s.downwardAPI?.items ?? []).map((i) => i.path),
        ]);
      } else if (volume?.secret !== undefined) {
        // A Secret the overlay generates has its keys here; a Secret created outside the
        // repository (production) is documented in docs/kubernetes.md.
        const secret = objects.find(
          (o) => o.kind === 'Secret' && o.metadata.name === volume.secret?.secretName,
        );
        keys = secret === undefined ? undefined : Object.keys(secret['data'] as object);
      } else {
        throw new Error(`${field}: ${file} comes from an unexpected volume ${volume?.name}`);
      }
      if (keys !== undefined) expect(keys, `${field}: ${file}`).toContain(key);
    }
  });
});

describe('the store of each overlay', () => {
  it('is the in-cluster Redis Service in dev', () => {
    const config = loadDeployedConfig('deploy/overlays/dev');
    if (config.store.type !== 'redis') throw new Error('not redis');
    const url = new URL(config.store.redis.url ?? '');
    const service = findObject(objectsOf('deploy/overlays/dev'), 'Service', 'redis');
    expect(url.protocol).toBe('redis:');
    expect(url.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`);
    const ports = (service['spec'] as { ports: Array<{ port: number }> }).ports.map((p) => p.port);
    expect(ports).toContain(Number(url.port));
  });

  it('is an external Redis over TLS with a password and CA from a Secret in production', () => {
    const config = loadDeployedConfig('deploy/overlays/production');
    if (config.store.type !== 'redis') throw new Error('not redis');
    expect(config.store.redis.url).toMatch(/^rediss:\/\//);
    expect(config.store.redis.password).toBeDefined();
    expect(config.store.redis.tls?.ca).toContain('BEGIN CERTIFICATE');
    const files = fileFields(parse(configText('deploy/overlays/production')));
    expect(files.filter((f) => f.field.startsWith('store.')).map((f) => f.file)).toEqual([
      '/etc/authgate/redis/password',
      '/etc/authgate/redis/ca.crt',
    ]);
  });
});

describe('the example workload', () => {
  it('matches a role of the deployed config: its namespace, service account and token audience', () => {
    const deployment = findObject(example, 'Deployment', 'demo-app');
    const pod = podSpecOf(deployment) as IPodSpec;
    const audience = pod.volumes
      ?.flatMap((v) => v.projected?.sources ?? [])
      .find((s) => s.serviceAccountToken !== undefined)?.serviceAccountToken?.audience;
    const container = pod.containers[0];
    expect(container?.args?.join('\n')).toContain('$AUTHGATE_ROLE');
    const role = container?.env?.find((e) => e.name === 'AUTHGATE_ROLE')?.value ?? '';
    for (const k of OVERLAYS) {
      const bound = kubernetesMount(loadDeployedConfig(k))?.roles.get(role);
      expect(bound, `${k}: role ${role}`).toBeDefined();
      expect(bound?.boundServiceAccountNamespaces).toEqual([deployment.metadata.namespace]);
      expect(bound?.boundServiceAccountNames).toEqual([pod.serviceAccountName]);
      expect(bound?.audience).toBe(audience);
    }
  });
});

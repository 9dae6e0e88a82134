import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from './helpers/kustomize.js';

/*
 * docker-compose.yml and the collector and Prometheus configs it mounts, checked statically (no
 * Docker engine runs here): the Compose Specification's JSON schema, dclint's rules, and the
 * wiring between the five services.
 */

type Healthcheck = { test: string[]; interval?: string; timeout?: string; retries?: number };
type Service = {
  image?: string;
  build?: { context: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  tmpfs?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: Healthcheck;
};
type Compose = { name: string; services: Record<string, Service>; volumes: Record<string, unknown> };

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');
const COMPOSE_TEXT = readFileSync(COMPOSE_FILE, 'utf8');
const compose = parse(COMPOSE_TEXT) as Compose;
const service = (name: string): Service => {
  const s = compose.services[name];
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
};
/** A file that a service mounts from the repository (`./deploy/compose/x.yml:/etc/x.yml:ro`), parsed. */
const mountedConfig = (name: string, target: string): Record<string, unknown> => {
  const volume = service(name).volumes?.find((v) => v.split(':')[1] === target);
  const source = volume?.split(':')[0] ?? '';
  expect(source, `${name} mounts ${target} from the repository`).toMatch(/^\.\//);
  return parse(readFileSync(join(REPO_ROOT, source), 'utf8')) as Record<string, unknown>;
};

/**
 * A validator of the Compose Specification's JSON schema, as dclint ships it (draft-07, from
 * compose-spec/compose-spec). Ajv registers the draft-07 meta-schema as http://…/schema#, not
 * as the https spelling the file names, so `$schema` is left out.
 */
const composeValidator = () => {
  const file = join(
    dirname(createRequire(import.meta.url).resolve('dclint/package.json')),
    'schemas',
    'compose.schema.json',
  );
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete schema['$schema'];
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
};

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema', () => {
    const validate = composeValidator();
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('would refuse a misspelt key and an unknown dependency condition (the schema check works)', () => {
    const validate = composeValidator();
    const broken = structuredClone(compose);
    (broken.services['redis']?.healthcheck as Record<string, unknown>)['intervall'] = '5s';
    (broken.services['authgate']?.depends_on as Record<string, unknown>)['redis'] = { condition: 'healthy' };
    expect(validate(broken)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths).toContain('/services/redis/healthcheck');
    expect(paths).toContain('/services/authgate/depends_on/redis/condition');
  });

  it('passes dclint’s rules', () => {
    const linter = new DCLinter({
      // `build` with `image` names the image that compose builds: intended here.
      rules: { 'no-build-and-image': 0 },
      quiet: true,
      debug: false,
      exclude: [],
    });
    const [result] = linter.lintFiles([COMPOSE_FILE], false);
    expect(
      result?.messages.map(
        (m: { line: number; rule: string; message: string }) => `${m.line}: ${m.rule}: ${m.message}`,
      ),
    ).toEqual([]);
  });

  it('has authgate, Redis, an OpenTelemetry collector, Jaeger and Prometheus, each on a pinned image', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'authgate',
      'jaeger',
      'otel-collector',
      'prometheus',
      'redis',
    ]);
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
    }
  });

  it('builds authgate from this repository and runs it in dev mode on Redis, published on 127.0.0.1:8200', () => {
    const authgate = service('authgate');
    expect(authgate.build?.context).toBe('.');
    expect(authgate.command).toEqual([
      'dev',
      '--address',
      '0.0.0.0',
      '--port',
      '8200',
      '--redis',
      'redis://redis:6379',
    ]);
    expect(authgate.ports).toEqual(['127.0.0.1:8200:8200']);
  });

  it('runs authgate as in Kubernetes: read-only root, a tmpfs /tmp, no capabilities', () => {
    const authgate = service('authgate');
    expect(authgate.read_only).toBe(true);
    expect(authgate.tmpfs).toEqual(['/tmp']);
    expect(authgate.cap_drop).toEqual(['ALL']);
  });

  it('keeps Redis data in an append-only file on a named volume', () => {
    const redis = service('redis');
    const command = redis.command ?? [];
    expect(command[0]).toBe('redis-server');
    expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual([
      '--appendonly',
      'yes',
    ]);
    const [volume, target] = (redis.volumes?.[0] ?? '').split(':');
    expect(target).toBe('/data');
    expect(Object.keys(compose.volumes)).toContain(volume);
  });

  it('health-checks authgate (readiness), Redis and Prometheus, and starts each after what it needs', () => {
    expect(service('authgate').healthcheck?.test.join(' ')).toContain(
      'http://127.0.0.1:8200/v1/sys/health/ready',
    );
    expect(service('redis').healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(service('prometheus').healthcheck?.test.join(' ')).toContain('/-/ready');
    expect(service('authgate').depends_on?.['redis']).toEqual({ condition: 'service_healthy' });
    expect(service('prometheus').depends_on?.['authgate']).toEqual({ condition: 'service_healthy' });
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(Object.keys(compose.services), `${name} → ${dependency}`).toContain(dependency);
        // Waiting for health needs a health check on the other side, or compose waits forever.
        if (condition === 'service_healthy')
          expect(service(dependency).healthcheck, dependency).toBeDefined();
        else expect(condition, `${name} → ${dependency}`).toBe('service_started');
      }
    }
  });

  it('mounts only configuration files that exist in the repository', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const volume of s.volumes ?? []) {
        const source = volume.split(':')[0] ?? '';
        if (source.startsWith('./'))
          expect(existsSync(join(REPO_ROOT, source)), `${name}: ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: ${source}`).toContain(source);
      }
    }
  });
});

describe('the telemetry wiring', () => {
  type Pipeline = { receivers: string[]; processors: string[]; exporters: string[] };
  type Collector = {
    receivers: { otlp: { protocols: { grpc: { endpoint: string }; http: { endpoint: string } } } };
    exporters: Record<string, { endpoint: string }>;
    service: { pipelines: Record<string, Pipeline> };
  };
  type ScrapeConfig = {
    job_name: string;
    metrics_path?: string;
    static_configs: Array<{ targets: string[] }>;
  };
  const collector = (): Collector => mountedConfig('otel-collector', '/etc/otelcol/config.yaml') as Collector;
  const scrapes = (): ScrapeConfig[] =>
    (mountedConfig('prometheus', '/etc/prometheus/prometheus.yml') as { scrape_configs: ScrapeConfig[] })
      .scrape_configs;
  const portOf = (endpoint: string): string => endpoint.slice(endpoint.lastIndexOf(':') + 1);

  it('sends authgate’s OTLP to the collector’s HTTP receiver', () => {
    const env = service('authgate').environment ?? {};
    expect(env['OTEL_SERVICE_NAME']).toBe('authgate');
    const endpoint = new URL(env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? '');
    expect(endpoint.hostname).toBe('otel-collector');
    expect(endpoint.port).toBe(portOf(collector().receivers.otlp.protocols.http.endpoint));
    expect(env['OTEL_EXPORTER_OTLP_PROTOCOL']).toBe('http/protobuf');
  });

  it('exports traces from the collector to Jaeger over OTLP, and metrics to a Prometheus endpoint', () => {
    const { service: pipelines, exporters } = collector();
    expect(pipelines.pipelines['traces']).toMatchObject({ receivers: ['otlp'], exporters: ['otlp/jaeger'] });
    expect(exporters['otlp/jaeger']?.endpoint).toBe('jaeger:4317');
    expect(pipelines.pipelines['metrics']).toMatchObject({ receivers: ['otlp'], exporters: ['prometheus'] });
  });

  it('has Prometheus scrape authgate’s /metrics on 8200 and the collector’s exporter', () => {
    const byJob = Object.fromEntries(scrapes().map((s) => [s.job_name, s]));
    expect(byJob['authgate']).toMatchObject({
      metrics_path: '/metrics',
      static_configs: [{ targets: ['authgate:8200'] }],
    });
    const collectorPort = portOf(collector().exporters['prometheus']?.endpoint ?? '');
    expect(byJob['otel-collector']?.static_configs).toEqual([
      { targets: [`otel-collector:${collectorPort}`] },
    ]);
  });
});

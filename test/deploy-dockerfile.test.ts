import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dockerfileProblems,
  flagsOf,
  instructionsOf,
  stagesOf,
  type Stage,
} from './helpers/dockerfile-rules.js';
import { isIgnored, parseDockerignore } from './helpers/dockerignore.js';
import { REPO_ROOT } from './helpers/kustomize.js';

/*
 * The Dockerfile and .dockerignore, checked statically (no Docker engine runs here): parsed with
 * dockerfile-ast, linted with dockerfile-utils, and held to the rules of
 * helpers/dockerfile-rules.ts plus what authgate's image needs.
 */

const DOCKERFILE = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const DOCKERIGNORE = parseDockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
const stages = stagesOf(DOCKERFILE);
const final = stages.at(-1) as Stage;
const build = stages.find((s) => s.name === 'build') as Stage;
const args = (stage: Stage, keyword: string): string[] =>
  instructionsOf(stage, keyword).map((i) => i.getArgumentsContent() ?? '');
/** The JSON (exec) form of an instruction's arguments. */
const execForm = (stage: Stage, keyword: string): unknown =>
  JSON.parse(instructionsOf(stage, keyword).at(-1)?.getArgumentsContent() ?? 'null');

describe('Dockerfile', () => {
  it('parses, lints clean and keeps every rule: multi-stage, pinned images, no ADD of URLs, npm ci, non-root, HEALTHCHECK, EXPOSE 8200', () => {
    expect(dockerfileProblems(DOCKERFILE)).toEqual([]);
  });

  it('builds on the full Node.js LTS image and runs on the slim one of the same major version', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    const major = (image: string) => Number(/^node:(\d+)-/.exec(image)?.[1]);
    expect(build.image).toMatch(/^node:\d+-bookworm$/);
    expect(final.image).toMatch(/^node:\d+-bookworm-slim$/);
    expect(major(final.image)).toBe(major(build.image));
    // Even majors are the LTS lines; 24 is the current one.
    expect(major(final.image) % 2).toBe(0);
    expect(major(final.image)).toBeGreaterThanOrEqual(24);
  });

  it('installs from the lock file, compiles, then drops the dev dependencies before the runtime copies them', () => {
    const runs = args(build, 'RUN').join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs.indexOf('npm run build')).toBeLessThan(runs.indexOf('npm prune --omit=dev'));
    expect(args(build, 'COPY')).toEqual([
      'package.json package-lock.json ./',
      'tsconfig.json ./',
      'src ./src',
    ]);
    const copies = instructionsOf(final, 'COPY').map((i) => ({
      from: flagsOf(i)['from'],
      args: i.getArgumentsContent(),
    }));
    expect(copies).toEqual([
      { from: 'build', args: '/src/package.json ./package.json' },
      { from: 'build', args: '/src/node_modules ./node_modules' },
      { from: 'build', args: '/src/dist ./dist' },
      { from: undefined, args: 'bin ./bin' },
    ]);
    // The runtime stage installs nothing and builds nothing.
    expect(args(final, 'RUN').join('\n')).not.toMatch(/npm (ci|run)/);
  });

  it('runs in production mode as user 10001, which owns none of the application files', () => {
    expect(args(final, 'ENV')).toContain('NODE_ENV=production');
    expect(args(final, 'USER')).toEqual(['10001:10001']);
    for (const copy of instructionsOf(final, 'COPY')) {
      expect(Object.keys(flagsOf(copy))).not.toContain('chown');
    }
    // USER comes after every RUN and COPY of the stage: nothing it writes at build time is its.
    const order = final.instructions.map((i) => i.getKeyword());
    expect(order.lastIndexOf('COPY')).toBeLessThan(order.indexOf('USER'));
    expect(order.lastIndexOf('RUN')).toBeLessThan(order.indexOf('USER'));
  });

  it('starts `node bin/authgate.js server --config /etc/authgate/authgate.yaml` and exposes 8200', () => {
    expect(execForm(final, 'ENTRYPOINT')).toEqual(['node', 'bin/authgate.js']);
    expect(execForm(final, 'CMD')).toEqual(['server', '--config', '/etc/authgate/authgate.yaml']);
    expect(args(final, 'EXPOSE')).toEqual(['8200']);
  });

  it('health-checks the liveness endpoint with node itself (no curl in the image)', () => {
    const [healthcheck] = instructionsOf(final, 'HEALTHCHECK');
    const content = healthcheck?.getArgumentsContent() ?? '';
    const command = JSON.parse(content.slice(content.indexOf('['))) as string[];
    expect(content.startsWith('CMD ')).toBe(true);
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('http://127.0.0.1:8200/v1/sys/health/live');
    expect(command[2]).toMatch(/AbortSignal\.timeout\(\d+\)/);
    expect(Object.keys(healthcheck === undefined ? {} : flagsOf(healthcheck)).sort()).toEqual([
      'interval',
      'retries',
      'start-period',
      'timeout',
    ]);
  });
});

describe('the Dockerfile rules', () => {
  it('refuse a single-stage image built with npm install, from latest, with a URL ADD, as root, without HEALTHCHECK or EXPOSE', () => {
    const bad = [
      'FROM node:latest',
      'ADD https://example.com/setup.sh /setup.sh',
      'COPY . .',
      'RUN npm install',
      'CMD ["node", "bin/authgate.js"]',
    ].join('\n');
    expect(dockerfileProblems(bad)).toEqual([
      'not multi-stage',
      'stage 0 has no name',
      'stage 0: image node:latest is not pinned',
      'stage 0: ADD from a URL',
      'stage 0: npm install instead of npm ci',
      'final stage runs as root, not a numeric non-root user',
      'final stage has no HEALTHCHECK',
      'final stage does not EXPOSE 8200',
    ]);
  });

  it('refuse a named user, an untagged image and what dockerfile-utils flags', () => {
    const bad = [
      'FROM node:24 AS build',
      'FROM node AS runtime',
      'USER node',
      'EXPOSE 8200',
      'HEALTHCHECK CMD true',
      'FRM x',
    ].join('\n');
    const problems = dockerfileProblems(bad);
    expect(problems).toContain('stage runtime: image node is not pinned');
    expect(problems).toContain('final stage runs as node, not a numeric non-root user');
    expect(problems.some((p) => p.startsWith('line 6:'))).toBe(true);
  });
});

describe('.dockerignore', () => {
  it('sends everything the Dockerfile copies from the context', () => {
    for (const path of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'src/cli/main.ts',
      'bin/authgate.js',
    ]) {
      expect(isIgnored(DOCKERIGNORE, path), path).toBe(false);
    }
  });

  it('keeps dependencies, build output, VCS data, tests, docs, manifests and local state out', () => {
    for (const path of [
      'node_modules/fastify/package.json',
      'dist/cli/main.js',
      '.git/HEAD',
      '.ci/run',
      'test/deploy-dockerfile.test.ts',
      'src/lib/glob.test.ts',
      'src/config/test-support.ts',
      'docs/kubernetes.md',
      'README.md',
      'deploy/base/deployment.yaml',
      'loadtest/bench/run.mjs',
      'coverage/index.html',
      '.authgate/state.json',
      'Dockerfile',
      'docker-compose.yml',
      '.env',
    ]) {
      expect(isIgnored(DOCKERIGNORE, path), path).toBe(true);
    }
  });

  it('is matched as Docker matches it: directories, ** and the last matching line', () => {
    const rules = parseDockerignore('# comment\n*\n!src/\nsrc/**/*.test.ts\n!src/keep.test.ts\n');
    expect(isIgnored(rules, 'src/a/b.ts')).toBe(false);
    expect(isIgnored(rules, 'src/a/b.test.ts')).toBe(true);
    expect(isIgnored(rules, 'src/b.test.ts')).toBe(true);
    expect(isIgnored(rules, 'src/keep.test.ts')).toBe(false);
    expect(isIgnored(rules, 'other/src/a.ts')).toBe(true);
  });
});

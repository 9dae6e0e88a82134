import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerNoRoute, answerUnsupportedOperation } from '../src/http/app.js';
import { startHarness, type Harness } from './helpers/harness.js';

/*
 * README.md's "What it serves" table against the routes the app registers: every path and method
 * a route serves is in the table's first column, and every path and method the column names is
 * one a route serves. The routes are gathered with an `onRoute` hook on the app the harness
 * composes (as `authgate server` does), so a route added, removed or given another method
 * without the table following fails here.
 */

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const AUTH_MOUNTS = ['kubernetes', 'jwks'];

/** Methods by route URL (a trailing `/` dropped: `…/keys/` is `…/keys`, which clients send either). */
type Routes = Map<string, Set<string>>;

const normal = (url: string): string => (url.length > 1 ? url.replace(/\/$/, '') : url);
const add = (routes: Routes, url: string, methods: string[]) => {
  const set = routes.get(url) ?? new Set<string>();
  for (const m of methods) set.add(m);
  routes.set(url, set);
};

/**
 * The routes the harness's app registers: `served` every method a route answers, `required` those
 * the table must name. Left out of both: the 405 routes the app adds for a path's other methods;
 * left out of `required` only: the HEAD route Fastify adds beside each GET.
 */
const registeredRoutes = async (): Promise<{ served: Routes; required: Routes; harness: Harness }> => {
  const seen: RouteOptions[] = [];
  const onInit = (message: unknown) => {
    (message as { fastify: FastifyInstance }).fastify.addHook('onRoute', (route) => {
      seen.push(route);
    });
  };
  subscribe('fastify.initialization', onInit);
  let harness: Harness;
  try {
    harness = await startHarness({ config: { secrets: { kv: { secret: {} } } } });
  } finally {
    unsubscribe('fastify.initialization', onInit);
  }
  const served: Routes = new Map();
  const required: Routes = new Map();
  const gets = new Set(seen.filter((r) => [r.method].flat().includes('GET')).map((r) => `${r.url}`));
  for (const route of seen) {
    if (route.handler === answerUnsupportedOperation || route.handler === answerNoRoute) continue;
    const methods = [route.method].flat().map(String);
    const url = normal(route.url ?? '');
    add(served, url, methods);
    const automaticHead = methods.length === 1 && methods[0] === 'HEAD' && gets.has(route.url ?? '');
    if (!automaticHead) add(required, url, methods);
  }
  return { served, required, harness: harness! };
};

/** One path of the table with the methods it is given: `LIST` is a GET (`?list=true`). */
type Entry = { span: string; path: string; methods: string[] };

const SPAN = /^(?:([A-Z]+(?:\|[A-Z]+)*) )?((?:\/|…\/)\S*)$/;

/** `a{b,c}d` → `abd`, `acd`; `a[/b[/c]]` → `a`, `a/b`, `a/b/c`. */
const expand = (pattern: string): string[] => {
  const brace = /^(.*?)\{([^}]+)\}(.*)$/.exec(pattern);
  if (brace) return (brace[2] ?? '').split(',').flatMap((p) => expand(`${brace[1]}${p}${brace[3]}`));
  const open = pattern.indexOf('[');
  if (open < 0) return [pattern];
  let depth = 0;
  let close = open;
  for (; close < pattern.length; close++) {
    if (pattern[close] === '[') depth++;
    if (pattern[close] === ']' && --depth === 0) break;
  }
  const before = pattern.slice(0, open);
  const after = pattern.slice(close + 1);
  return [...expand(before + after), ...expand(before + pattern.slice(open + 1, close) + after)];
};

/**
 * `…/rest` shortens the previous path: up to the last segment it shares with `rest`'s first
 * (`…/role` after `/v1/auth/<mount>/role/<name>`), else to its parent (`…/renew-self` after
 * `/v1/auth/token/lookup-self`).
 */
const resolveEllipsis = (path: string, previous: string): string => {
  if (!path.startsWith('…/')) return path;
  const rest = path.slice(1);
  const first = rest.split('/')[1] ?? '';
  const segments = previous.split('/');
  const at = segments.lastIndexOf(first);
  const prefix = at > 0 ? segments.slice(0, at) : segments.slice(0, -1);
  return prefix.join('/') + rest;
};

/** Requests that reach the path: `<mount>` under `/v1/auth/` each auth mount, another `<name>` a sample. */
const concrete = (path: string): string[] =>
  expand(path.split('?', 1)[0] ?? '')
    // A trailing `/…` is any path under it, the bare one included (`LIST secret/metadata`).
    .flatMap((p) => (p.endsWith('/…') ? [p.slice(0, -2), `${p.slice(0, -1)}a/b`] : [p]))
    .flatMap((p) => (p.includes('/v1/auth/<mount>/') ? AUTH_MOUNTS.map((m) => p.replace('<mount>', m)) : [p]))
    .map((p) => p.replace(/<[^>]+>/g, 'x'));

/** The paths the first column of the table names, each with its methods (a span without them takes the previous span's). */
const documentedEntries = (): Entry[] => {
  const start = README.indexOf('\n## What it serves\n');
  const table = README.slice(start, README.indexOf('\n## ', start + 1))
    .split('\n')
    .filter((l) => l.startsWith('| `'));
  return table.flatMap((row) => {
    const firstCell = row.split(/(?<!\\)\|/)[1] ?? '';
    let methods: string[] = [];
    let previous = '';
    return [...firstCell.matchAll(/`([^`]+)`/g)].flatMap((m) => {
      const match = SPAN.exec((m[1] ?? '').replace(/\\\|/g, '|'));
      if (!match) return []; // a body (`{"token"}`) or a word
      if (match[1] !== undefined) methods = match[1].split('|').map((x) => (x === 'LIST' ? 'GET' : x));
      const path = resolveEllipsis(match[2] ?? '', previous);
      previous = path;
      return concrete(path).map((p) => ({ span: m[1] ?? '', path: p, methods }));
    });
  });
};

/** The route that serves `path`: a static one before one with parameters, before a wildcard. */
const routeOf = (routes: Routes, path: string): string | undefined => {
  const rank = (url: string) => (url.includes('*') ? 2 : url.includes(':') ? 1 : 0);
  return [...routes.keys()]
    .filter((url) => {
      const pattern = url
        .split(/(:\w+|\*)/)
        .map((part) =>
          part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      return new RegExp(`^${pattern}$`).test(path);
    })
    .sort((a, b) => rank(a) - rank(b) || b.length - a.length)[0];
};

describe("README.md's table of what authgate serves", () => {
  let routes: Awaited<ReturnType<typeof registeredRoutes>>;
  beforeAll(async () => {
    routes = await registeredRoutes();
  });
  afterAll(async () => {
    await routes.harness.close();
  });
  const entries = documentedEntries();

  it('finds the routes and the rows it compares', () => {
    expect(routes.required.size).toBeGreaterThan(50);
    expect(entries.length).toBeGreaterThan(50);
  });

  it('names only paths a route serves, with methods the route has', () => {
    const wrong = entries.flatMap(({ span, path, methods }) => {
      const url = routeOf(routes.served, path);
      if (url === undefined) return [`${span}: no route serves ${path}`];
      const has = routes.served.get(url) ?? new Set();
      return methods.filter((m) => !has.has(m)).map((m) => `${span}: ${url} has no ${m}`);
    });
    expect(wrong).toEqual([]);
  });

  it('names every route with each of its methods', () => {
    const documented: Routes = new Map();
    for (const { path, methods } of entries) {
      const url = routeOf(routes.served, path);
      if (url !== undefined) add(documented, url, methods);
    }
    const missing = [...routes.required].flatMap(([url, methods]) =>
      [...methods].filter((m) => !documented.get(url)?.has(m)).map((m) => `${m} ${url}`),
    );
    expect(missing).toEqual([]);
  });
});

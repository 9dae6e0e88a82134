import type fc from 'fast-check';
import { expect } from 'vitest';
import type { FakeClock } from '../../src/lib/clock.js';
import {
  addVersion,
  badRequest,
  CAS_IGNORED,
  casProblem,
  deletionTime,
  expectedRead,
  goDuration,
  goTime,
  isGone,
  mergePatch,
  metadataView,
  newSecret,
  subkeys,
  versionView,
  type Answer,
  type JsonObject,
  type Model,
  type Real,
} from './kv-model.js';
import {
  encodePath,
  rawDuration,
  resolveCas,
  versionsBody,
  type Duration,
  type MetadataBody,
  type MetadataPatch,
} from './kv-model-inputs.js';
import { envelope, MERGE, NO_CONTENT, NOT_FOUND } from './kv-suite.js';

/** One step of test/kv-model.test.ts: a request, its answer compared with the model's, the model updated. */
export type Cmd = fc.AsyncCommand<Model, Real>;

export type CommandDeps = {
  /** Sends a request with the admin token; a body is sent as JSON, typed `type` (default JSON). */
  send: (method: string, url: string, body?: unknown, type?: string) => Promise<Answer>;
  clock: FakeClock;
};

/** The requests of the model test, each against one secret of the sequence (or the mount's config). */
export const createCommands = ({ send, clock }: CommandDeps) => {
  const url = (r: Real, op: string, p: string) => `/v1/secret/${op}/${r.prefix}/${encodePath(p)}`;
  const check = (actual: Answer, expected: Answer, what: string) =>
    expect(actual, `${what} at ${goTime(clock.nowMs())}`).toEqual(expected);

  const command = (label: string, run: (m: Model, r: Real) => Promise<void>): Cmd => ({
    check: () => true,
    run,
    toString: () => label,
  });

  const writeCmd = (p: string, d: JsonObject, c: number | 'current' | undefined): Cmd =>
    command(`write ${p} ${JSON.stringify(d)} cas=${String(c)}`, async (m, r) => {
      const s = m.secrets.get(p);
      const casValue = resolveCas(c, s);
      const body = { data: d, ...(casValue === undefined ? {} : { options: { cas: casValue } }) };
      const actual = await send('POST', url(r, 'data', p), body);
      const problem = casProblem(casValue, m.config, s);
      if (problem !== undefined) return check(actual, badRequest(problem), 'write');
      const secret = s ?? newSecret(clock.nowMs());
      m.secrets.set(p, secret);
      addVersion(secret, m.config, d, clock.nowMs());
      check(actual, { status: 200, json: envelope(versionView(secret, secret.current)) }, 'write');
    });

  const patchCmd = (p: string, d: JsonObject, c: number | 'current' | undefined): Cmd =>
    command(`patch ${p} ${JSON.stringify(d)} cas=${String(c)}`, async (m, r) => {
      const s = m.secrets.get(p);
      const casValue = resolveCas(c, s);
      const body = { data: d, ...(casValue === undefined ? {} : { options: { cas: casValue } }) };
      const actual = await send('PATCH', url(r, 'data', p), body, MERGE);
      if (s === undefined) return check(actual, NOT_FOUND, 'patch');
      const problem = casProblem(casValue, m.config, s);
      if (problem !== undefined) return check(actual, badRequest(problem), 'patch');
      const current = s.versions.get(s.current);
      if (current === undefined) return check(actual, NOT_FOUND, 'patch');
      // Deleted or destroyed: 404 with the version's metadata as `data` (not under `metadata`).
      if (isGone(current, clock.nowMs()))
        return check(actual, { status: 404, json: envelope(versionView(s, s.current), '') }, 'patch');
      addVersion(s, m.config, mergePatch(current.data, d) as JsonObject, clock.nowMs());
      check(actual, { status: 200, json: envelope(versionView(s, s.current)) }, 'patch');
    });

  const readCmd = (p: string, version: number | undefined): Cmd =>
    command(`read ${p} version=${String(version)}`, async (m, r) => {
      const q = version === undefined ? '' : `?version=${version}`;
      const actual = await send('GET', `${url(r, 'data', p)}${q}`);
      check(
        actual,
        expectedRead(clock.nowMs(), m.secrets.get(p), version ?? 0, 'data', (d) => d),
        'read',
      );
    });

  const subkeysCmd = (p: string, version: number | undefined, depth: number | undefined): Cmd =>
    command(`subkeys ${p} version=${String(version)} depth=${String(depth)}`, async (m, r) => {
      const q = new URLSearchParams();
      if (version !== undefined) q.set('version', String(version));
      if (depth !== undefined) q.set('depth', String(depth));
      const actual = await send('GET', `${url(r, 'subkeys', p)}?${q.toString()}`);
      const expected = expectedRead(clock.nowMs(), m.secrets.get(p), version ?? 0, 'subkeys', (d) =>
        subkeys(d, depth ?? 0),
      );
      check(actual, expected, 'subkeys');
    });

  const deleteLatestCmd = (p: string): Cmd =>
    command(`delete-latest ${p}`, async (m, r) => {
      check(await send('DELETE', url(r, 'data', p)), NO_CONTENT, 'delete latest');
      const s = m.secrets.get(p);
      const v = s?.versions.get(s.current);
      if (v !== undefined && !isGone(v, clock.nowMs())) v.deletionMs = clock.nowMs();
    });

  const versionsCmd = (
    op: 'delete' | 'undelete' | 'destroy',
    p: string,
    versions: number[],
    asString: boolean,
  ): Cmd =>
    command(`${op} ${p} versions=${versions.join(',')}${asString ? ' (string)' : ''}`, async (m, r) => {
      const actual = await send('POST', url(r, op, p), versionsBody(versions, asString));
      if (versions.length === 0)
        return check(
          actual,
          badRequest(op === 'destroy' ? 'no version number provided' : 'No version number provided'),
          op,
        );
      check(actual, NO_CONTENT, op);
      const s = m.secrets.get(p);
      if (s === undefined) return;
      const now = clock.nowMs();
      for (const n of versions) {
        const v = s.versions.get(n);
        if (v === undefined || v.destroyed) continue;
        if (op === 'destroy') v.destroyed = true;
        else if (op === 'undelete') v.deletionMs = deletionTime(now, m.config, s);
        else if (!isGone(v, now)) v.deletionMs = now;
      }
    });

  const readMetadataCmd = (p: string): Cmd =>
    command(`read-metadata ${p}`, async (m, r) => {
      const s = m.secrets.get(p);
      const actual = await send('GET', url(r, 'metadata', p));
      check(
        actual,
        s === undefined ? NOT_FOUND : { status: 200, json: envelope(metadataView(s)) },
        'metadata',
      );
    });

  const warned = (warn: boolean): Answer =>
    warn ? { status: 200, json: { ...envelope(null), warnings: [CAS_IGNORED] } } : NO_CONTENT;

  const writeMetadataCmd = (p: string, b: MetadataBody): Cmd =>
    command(`write-metadata ${p} ${JSON.stringify(b)}`, async (m, r) => {
      const body = {
        ...b,
        ...(b.delete_version_after ? { delete_version_after: b.delete_version_after[0] } : {}),
      };
      const actual = await send('POST', url(r, 'metadata', p), body);
      // Vault's fast path: a body with none of the fields changes nothing, creates nothing.
      if (Object.keys(b).length === 0) return check(actual, NO_CONTENT, 'metadata write');
      check(actual, warned(b.cas_required === false && m.config.casRequired), 'metadata write');
      const s = m.secrets.get(p) ?? newSecret(clock.nowMs());
      m.secrets.set(p, s);
      if (b.max_versions !== undefined) s.maxVersions = b.max_versions;
      if (b.cas_required !== undefined) s.casRequired = b.cas_required;
      if (b.delete_version_after !== undefined) s.deleteAfterSeconds = b.delete_version_after[1];
      if (b.custom_metadata !== undefined)
        s.custom = Object.keys(b.custom_metadata).length > 0 ? { ...b.custom_metadata } : null;
    });

  const patchMetadataCmd = (p: string, b: MetadataPatch): Cmd =>
    command(`patch-metadata ${p} ${JSON.stringify(b)}`, async (m, r) => {
      const body = {
        ...b,
        ...(b.delete_version_after === undefined
          ? {}
          : { delete_version_after: rawDuration(b.delete_version_after) }),
      };
      const actual = await send('PATCH', url(r, 'metadata', p), body, MERGE);
      const s = m.secrets.get(p);
      if (s === undefined) return check(actual, NOT_FOUND, 'metadata patch');
      // A null cas_required is false to Vault's framework, warned about like false.
      check(
        actual,
        warned(b.cas_required !== undefined && !b.cas_required && m.config.casRequired),
        'metadata patch',
      );
      if (b.max_versions !== undefined) s.maxVersions = b.max_versions ?? 0;
      if (b.cas_required !== undefined) s.casRequired = b.cas_required ?? false;
      // A null duration is no field at all to Vault's framework: the setting stays.
      if (b.delete_version_after !== undefined && b.delete_version_after !== null)
        s.deleteAfterSeconds = b.delete_version_after[1];
      if (b.custom_metadata !== undefined) {
        const merged = b.custom_metadata === null ? {} : mergePatch(s.custom ?? {}, b.custom_metadata);
        s.custom = Object.keys(merged as JsonObject).length > 0 ? (merged as Record<string, string>) : null;
      }
    });

  const deleteMetadataCmd = (p: string): Cmd =>
    command(`delete-metadata ${p}`, async (m, r) => {
      check(await send('DELETE', url(r, 'metadata', p)), NO_CONTENT, 'metadata delete');
      m.secrets.delete(p);
    });

  const listCmd = (folder: string): Cmd =>
    command(`list "${folder}"`, async (m, r) => {
      const actual = await send('GET', `/v1/secret/metadata/${r.prefix}/${encodePath(folder)}?list=true`);
      const base = folder === '' || folder.endsWith('/') ? folder : `${folder}/`;
      const keys = new Set<string>();
      for (const p of m.secrets.keys()) {
        if (!p.startsWith(base)) continue;
        const rest = p.slice(base.length);
        keys.add(rest.includes('/') ? `${rest.split('/')[0] as string}/` : rest);
      }
      const expected: Answer =
        keys.size === 0 ? NOT_FOUND : { status: 200, json: envelope({ keys: [...keys].sort() }) };
      check(actual, expected, 'list');
    });

  const writeConfigCmd = (b: {
    max_versions?: number;
    cas_required?: boolean;
    delete_version_after?: Duration;
  }): Cmd =>
    command(`write-config ${JSON.stringify(b)}`, async (m, r) => {
      void r;
      const body = {
        ...b,
        ...(b.delete_version_after ? { delete_version_after: b.delete_version_after[0] } : {}),
      };
      check(await send('POST', '/v1/secret/config', body), NO_CONTENT, 'config write');
      if (b.max_versions !== undefined) m.config.maxVersions = b.max_versions;
      if (b.cas_required !== undefined) m.config.casRequired = b.cas_required;
      if (b.delete_version_after !== undefined) m.config.deleteAfterSeconds = b.delete_version_after[1];
    });

  const readConfigCmd = (): Cmd =>
    command('read-config', async (m) => {
      const expected = {
        status: 200,
        json: envelope({
          cas_required: m.config.casRequired,
          delete_version_after: goDuration(m.config.deleteAfterSeconds),
          max_versions: m.config.maxVersions,
        }),
      };
      check(await send('GET', '/v1/secret/config'), expected, 'config read');
    });

  const advanceCmd = (ms: number): Cmd =>
    command(`advance ${ms}ms`, async () => {
      clock.advanceMs(ms);
    });

  return {
    url,
    check,
    command,
    writeCmd,
    patchCmd,
    readCmd,
    subkeysCmd,
    deleteLatestCmd,
    versionsCmd,
    readMetadataCmd,
    writeMetadataCmd,
    patchMetadataCmd,
    deleteMetadataCmd,
    listCmd,
    writeConfigCmd,
    readConfigCmd,
    advanceCmd,
  };
};

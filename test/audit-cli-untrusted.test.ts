import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../src/cli/audit.js';
import { startHarness, type Harness } from './helpers/harness.js';

/*
 * A refused login's audit entry names who its JWT claimed to be: names nobody verified, chosen
 * by whoever sent the token. `authgate audit` prints them to an operator's terminal, where a
 * line break would forge a row and an escape sequence would drive the terminal.
 */

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const ESC = '\u001b';
// A row that says a login succeeded, and sequences that clear the screen and set its title.
const forgedRow = `x\n2026-01-01T00:00:00Z      ok       ok  kubernetes  nginx  prod`;
const claims = {
  iss: 'kubernetes/serviceaccount',
  aud: ['vault'],
  exp: 4_102_444_800,
  'kubernetes.io': {
    namespace: forgedRow,
    serviceaccount: { name: `sa${ESC}[2J${ESC}]0;owned\u0007`, uid: 'u' },
    pod: { name: `pod\r\u009b31m\u202eevil`, uid: 'p' },
  },
};
const jwt = `${b64({ alg: 'RS256', kid: 'k' })}.${b64(claims)}.c2ln`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const res = await h.login('kubernetes', { role: 'nginx', jwt });
  expect(res.status).toBeGreaterThanOrEqual(400);
  await h.close();
});
afterAll(async () => {
  await h?.close();
});

const audit = async (...argv: string[]) => {
  let out = '';
  // `tail -f` stops when its first rows are out.
  const follow = new AbortController();
  setTimeout(() => follow.abort(), 300);
  const code = await runAudit(argv, {
    signal: follow.signal,
    stdout: new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    }),
    stderr: new Writable({ write: (_c, _e, done) => done() }),
    stdin: new PassThrough(),
  });
  return { code, out };
};

/** Any C0 or C1 control character but the line feeds that end rows, or a bidi override. */
// eslint-disable-next-line no-control-regex -- the point: these are what it finds
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

describe('authgate audit prints the names a refused JWT claimed', () => {
  it.each([
    ['query', ['query']],
    ['tail', ['tail', '-n', '5']],
    ['tail -f', ['tail', '-f', '-n', '5']],
    ['summary', ['summary', '--since', '2000-01-01T00:00:00Z']],
  ])('%s: one line per login, no control character reaching the terminal', async (_what, args) => {
    const r = await audit(...args, '--file', h.auditFile as string);
    expect(r.code).toBe(0);
    expect(r.out).toContain('owned');
    expect(r.out).not.toMatch(CONTROL);
    // The claimed namespace stays on its row: no forged `ok` line.
    expect(r.out.split('\n').filter((l) => l.startsWith('2026-01-01T00:00:00Z'))).toEqual([]);
  });

  it('keeps the names whole, escaped, and as claimed in --json', async () => {
    const table = await audit('query', '--file', h.auditFile as string);
    expect(table.out).toContain('x\\n2026-01-01T00:00:00Z');
    expect(table.out).toContain('sa\\u001b[2J\\u001b]0;owned\\u0007');
    const json = await audit('query', '--file', h.auditFile as string, '--json');
    const record = JSON.parse(json.out.trim().split('\n').at(-1) ?? '{}') as { namespace?: string };
    expect(record.namespace).toBe(forgedRow);
  });
});

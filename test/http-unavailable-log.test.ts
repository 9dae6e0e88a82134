import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UNAVAILABLE_LOG_LINES_PER_SECOND } from '../src/http/vault-errors.js';
import { createRedisStore, type Store } from '../src/store/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { freePort } from './helpers/redis-server.js';

/**
 * A store that is down fails every request that needs it with 503: the log says so within a
 * budget of lines a second, then how many it left out, instead of one line with a stack per
 * request (thousands a second under load).
 */

const log = jsonLogLines();
const events = (event: string) => log.lines.filter((l) => l['event'] === event);
let store: Store;
let h: Harness;

beforeAll(async () => {
  // Nothing listens there: every command fails at once (no offline queue).
  store = createRedisStore(
    { url: `redis://127.0.0.1:${await freePort()}` },
    { log: { info: () => undefined, warn: () => undefined } },
  );
  h = await startHarness({ store, audit: null, log: createLogger('warn', log.stream) });
});
afterAll(async () => {
  await h?.close();
  await store?.close();
});

/** 60 concurrent `lookup-self` calls with a token nobody issued: each must be answered 503 `message`. */
const lookups = async (on: Harness, message: string) => {
  const token = `ags.${'a'.repeat(43)}`;
  const answers = await Promise.all(
    Array.from({ length: 60 }, () =>
      on.server.app.inject({ url: '/v1/auth/token/lookup-self', headers: { 'x-vault-token': token } }),
    ),
  );
  for (const a of answers) {
    expect(a.statusCode).toBe(503);
    expect(a.json()).toStrictEqual({ errors: [message] });
  }
  return answers.length;
};

/**
 * Expects `lines` to hold at most the budget of `request.failed` lines, then the count of the
 * rest by `reason` in `request.failed_suppressed`, `answered` in all.
 */
const expectBudgeted = async (lines: (event: string) => unknown[], answered: number, reason: string) => {
  const written = lines('request.failed').length;
  expect(written).toBeGreaterThan(0);
  expect(written).toBeLessThanOrEqual(UNAVAILABLE_LOG_LINES_PER_SECOND);
  await vi.waitFor(() => expect(lines('request.failed_suppressed').length).toBeGreaterThan(0), {
    timeout: 3000,
  });
  const suppressed = lines('request.failed_suppressed') as Array<Record<string, unknown>>;
  expect(written + suppressed.reduce((n, l) => n + (l['suppressed'] as number), 0)).toBe(answered);
  expect(suppressed[0]).toMatchObject({ level: 50, reasons: { [reason]: expect.any(Number) } });
};

describe('request.failed while the store is down', () => {
  it('writes at most its budget of lines a second, then how many it left out, by reason', async () => {
    const answered = await lookups(h, 'token store unavailable');
    await expectBudgeted(events, answered, 'token_store_unavailable');
  });
});

describe('request.failed when answers cannot be audited', () => {
  it('shares the budget: an audit device that refuses every answer does not write a line per request', async () => {
    const audited = jsonLogLines();
    const lines = (event: string) => audited.lines.filter((l) => l['event'] === event);
    // Takes every request entry and refuses every response entry, and stays open: each answer is
    // then replaced by a 503 (a real stream would refuse everything after its first error).
    const device = {
      write: (text: string, done: (err?: Error) => void) =>
        done(text.includes('"type":"response"') ? new Error('ENOSPC: no space left on device') : undefined),
      on: () => device,
      off: () => device,
    } as unknown as NodeJS.WritableStream;
    const hh = await startHarness({
      audit: { out: { type: 'stdout' } },
      auditStdout: device,
      log: createLogger('warn', audited.stream),
    });
    try {
      const answered = await lookups(hh, 'audit device unavailable: the request was not served');
      await expectBudgeted(lines, answered, 'audit_failed');
    } finally {
      await hh.close();
    }
  });
});

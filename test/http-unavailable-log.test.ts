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

describe('request.failed while the store is down', () => {
  it('writes at most its budget of lines a second, then how many it left out, by reason', async () => {
    const token = `ags.${'a'.repeat(43)}`;
    const answers = await Promise.all(
      Array.from({ length: 60 }, () =>
        h.server.app.inject({ url: '/v1/auth/token/lookup-self', headers: { 'x-vault-token': token } }),
      ),
    );
    for (const a of answers) {
      expect(a.statusCode).toBe(503);
      expect(a.json()).toStrictEqual({ errors: ['token store unavailable'] });
    }
    const written = events('request.failed').length;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(UNAVAILABLE_LOG_LINES_PER_SECOND);
    await vi.waitFor(() => expect(events('request.failed_suppressed').length).toBeGreaterThan(0), {
      timeout: 3000,
    });
    const suppressed = events('request.failed_suppressed');
    expect(written + suppressed.reduce((n, l) => n + (l['suppressed'] as number), 0)).toBe(60);
    expect(suppressed[0]).toMatchObject({
      level: 50,
      reasons: { token_store_unavailable: expect.any(Number) },
    });
  });
});

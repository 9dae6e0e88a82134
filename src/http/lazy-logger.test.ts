import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { createLogger } from '../telemetry/index.js';
import { lazyLogger } from './lazy-logger.js';

describe('lazyLogger', () => {
  it('makes the logger only when it is first used, then behaves as it', () => {
    const lines: string[] = [];
    const out = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        lines.push(chunk.toString());
        done();
      },
    });
    const base = createLogger('info', out);
    let made = 0;
    const log = lazyLogger(() => {
      made++;
      return base.child({ reqId: 'r-1' }) as FastifyBaseLogger;
    });
    expect(made).toBe(0);
    log.info({ event: 'x.happened', token: 'ags.secret' }, 'x.happened');
    log.warn('again');
    expect(made).toBe(1);
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(first).toMatchObject({ reqId: 'r-1', event: 'x.happened', token: '[redacted]' });
    expect(log.level).toBe('info');
    expect(typeof log.child({ a: 1 }).info).toBe('function');
  });
});

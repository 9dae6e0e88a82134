import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
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

  it('is not made by Fastify for a request that does not log', async () => {
    const base = createLogger('info', new Writable({ write: (_c, _e, done) => done() }));
    let made = 0;
    const app = Fastify({
      loggerInstance: base as FastifyBaseLogger,
      childLoggerFactory: (logger, bindings, options) =>
        lazyLogger(() => {
          made++;
          return logger.child(bindings, options);
        }),
      // As the app sets it (src/http/app.ts); the top-level option is deprecated.
      logController: new LogController({ disableRequestLogging: true }),
    });
    app.get('/quiet', () => ({}));
    app.get('/loud', (request) => {
      request.log.info('loud');
      return {};
    });
    expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect(made).toBe(0);
    expect((await app.inject({ url: '/loud' })).statusCode).toBe(200);
    expect(made).toBe(1);
    await app.close();
  });
});

import { describe, expect, it } from 'vitest';
import {
  addressFlag,
  failureCause,
  integerFlag,
  onOffFlag,
  parseFlags,
  portFlag,
  UsageError,
} from './command.js';

/** The message of the UsageError `fn` throws. */
const usageMistake = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
  throw new Error('no usage mistake');
};

describe('flag values', () => {
  it('takes a port from 0 to 65535, in digits only', () => {
    expect(portFlag('0', '--port')).toBe(0);
    expect(portFlag('65535', '--port')).toBe(65535);
    for (const bad of ['abc', '99999', '-1', '1e3', '80.5', ' 80', '', '0x50']) {
      expect(usageMistake(() => portFlag(bad, '--port'))).toBe('--port: must be an integer from 0 to 65535');
    }
  });

  it('names the range and the unit of an integer', () => {
    expect(usageMistake(() => integerFlag('5', '--ttl', { min: 600, max: 4096, unit: 'seconds' }))).toBe(
      '--ttl: must be an integer from 600 to 4096 (seconds)',
    );
    expect(usageMistake(() => integerFlag('0', '--count', { min: 1 }))).toBe(
      '--count: must be an integer of at least 1',
    );
    expect(usageMistake(() => integerFlag('99999999999999999999', '--limit'))).toBe(
      '--limit: must be a whole number',
    );
  });

  it('takes on or off, nothing else', () => {
    expect(onOffFlag('on', '--metrics')).toBe(true);
    expect(onOffFlag('off', '--metrics')).toBe(false);
    expect(usageMistake(() => onOffFlag('maybe', '--metrics'))).toBe('--metrics: must be on or off');
  });

  it('takes an IP address or a host name that stays as written', () => {
    for (const ok of ['127.0.0.1', '::1', '::', '0.0.0.0', 'localhost', 'authgate.example.com']) {
      expect(addressFlag(ok, '--address')).toBe(ok);
    }
    for (const bad of ['999.1.1.1', '0x7f.1', 'a b', 'host/path', 'user@host', '[::1]', '']) {
      expect(usageMistake(() => addressFlag(bad, '--address'))).toBe(
        '--address: must be an IP address or a host name',
      );
    }
  });
});

describe('parseFlags', () => {
  it('turns what node refuses into a usage mistake', () => {
    const options = { port: { type: 'string' } } as const;
    expect(usageMistake(() => parseFlags(['--colour'], options))).toContain("Unknown option '--colour'");
    expect(usageMistake(() => parseFlags(['--port'], options))).toContain(
      "'--port <value>' argument missing",
    );
    expect(usageMistake(() => parseFlags(['extra'], options))).toContain("Unexpected argument 'extra'");
    expect(parseFlags(['--port', '1'], options)).toEqual({ port: '1' });
  });
});

describe('failureCause', () => {
  it("finds the reason of node's `fetch failed`", async () => {
    const err = await fetch('http://127.0.0.1:9/').catch((e: unknown) => e);
    expect(failureCause(err)).toMatch(/ECONNREFUSED|bad port/);
    const aggregate = new TypeError('fetch failed', {
      cause: new AggregateError(
        [new Error('connect ECONNREFUSED ::1:8200'), new Error('connect ECONNREFUSED 127.0.0.1:8200')],
        '',
      ),
    });
    expect(failureCause(aggregate)).toBe(
      'connect ECONNREFUSED ::1:8200; connect ECONNREFUSED 127.0.0.1:8200',
    );
  });
});

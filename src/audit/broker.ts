import { withSpan } from '../lib/tracing.js';
import type { AuditDeviceConfig } from '../config/index.js';
import { AuthgateError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';
import { formatRequestEntry, formatResponseEntry, goTime, requestBlock } from './entry.js';
import { createHasher, type Hasher } from './hash.js';
import type { SaltSource } from './salt.js';
import type { AuditSink } from './sinks.js';
import type { AuditRequest, AuditResponse } from './types.js';

/** What the broker needs of a device's config. */
export type DeviceSettings = Pick<AuditDeviceConfig, 'name' | 'type' | 'hmacAccessor' | 'timeoutMs'>;

/** A configured device: its settings and where it writes. */
export type AuditDevice = { settings: DeviceSettings; sink: AuditSink };

/** What the broker is built from: the devices, their salts, the clock that stamps entries, the logger. */
export type AuditBrokerDeps = {
  devices: readonly AuditDevice[];
  salts: Pick<SaltSource, 'saltOf'>;
  clock: Clock;
  log: Pick<Logger, 'warn' | 'info'>;
  /** Called for every entry a device failed to write (for `authgate_audit_failures_total`); never throws. */
  onDeviceFailure?: (device: string) => void;
};

/**
 * When no device could log, the request is not served (fail closed, as Vault). Vault answers 500;
 * authgate answers 503 with what is down, as for every other dependency: the client did nothing
 * wrong, and may try again once a device writes.
 */
export const AUDIT_UNAVAILABLE = 'audit device unavailable: the request was not served';
const auditFailed = () =>
  new AuthgateError('UNAVAILABLE', {
    message: AUDIT_UNAVAILABLE,
    reason: 'audit_failed',
    detail: 'no audit device succeeded in logging the request',
  });

/**
 * Where a request's hashed request blocks are kept: on the request object under a private symbol.
 * Not a WeakMap keyed by it: an entry whose key dies young costs the collector about 0.85 µs
 * (an ephemeron to trace), measured on Node 20, against a few ns for a property.
 */
const BLOCKS = Symbol('authgate.auditBlocks');
type WithBlocks = AuditRequest & { [BLOCKS]?: Map<string, Record<string, unknown>> };

/**
 * How many entries, and how many bytes of them, a device may hold that it did not write within
 * its timeout and has not written or failed since. A device that hangs (a stalled disk, a full
 * stdout pipe, a Redis that accepts and never answers) times out each write, but its sink keeps
 * the text; past these bounds the device is failed at once, handed nothing, until that backlog
 * drains: a hung device costs a bounded amount of memory however many requests come. Writes
 * still within their timeout are not counted: a healthy device under a burst is never refused.
 */
export const MAX_UNSETTLED_WRITES = 1024;
export const MAX_UNSETTLED_BYTES = 16 * 1024 * 1024;

/** One entry's way to one device: whether it was handed over, has settled, was given up on. */
type Ticket = { bytes: number; handed: boolean; settled: boolean; abandoned: boolean };

/** Rejects after `ms` unless `p` settles first; the timer never outlives the race. */
const within = <T>(p: Promise<T>, ms: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
};

/**
 * The audit broker: formats each entry once per device (each device HMACs with its own salt)
 * and writes it to every device at once, as Vault's broker does.
 *
 * Fail closed: with devices configured, a write resolves when at least one device took the
 * entry and rejects with AuthgateError UNAVAILABLE (`audit_failed`) when none did, so the caller
 * answers 503 and serves nothing. A device that has not answered within its `timeoutMs` counts
 * as failed for that entry (the write may still land later). With no device configured,
 * `enabled` is false and nothing is written or awaited.
 *
 * Each device's failure is logged once when it starts failing (`audit.device_failed`, with the
 * error's message) and once when it writes again (`audit.device_recovered`); the entry itself is
 * never logged.
 */
export const createAuditBroker = (deps: AuditBrokerDeps) => {
  const { devices, salts, clock, log } = deps;
  const failing = new Set<string>();
  const hashers = new Map<string, { salt: string; hash: Hasher }>();
  // Each device's request block of a request, hashed once for both of its entries; kept on the
  // request under a private symbol (see BLOCKS).
  const blockOf = (req: AuditRequest, device: DeviceSettings, hash: Hasher): Record<string, unknown> => {
    const withBlocks = req as WithBlocks;
    let byDevice = withBlocks[BLOCKS];
    if (byDevice === undefined) {
      byDevice = new Map();
      withBlocks[BLOCKS] = byDevice;
    }
    let block = byDevice.get(device.name);
    if (block === undefined) {
      block = requestBlock(req, hash, device);
      byDevice.set(device.name, block);
    }
    return block;
  };

  const hasherOf = async (device: DeviceSettings): Promise<Hasher> => {
    const salt = await salts.saltOf(device.name);
    let h = hashers.get(device.name);
    if (h === undefined || h.salt !== salt) {
      h = { salt, hash: createHasher(salt) };
      hashers.set(device.name, h);
    }
    return h.hash;
  };

  // Per device: the entries it timed out on and still holds (see MAX_UNSETTLED_*).
  const backlogs = new Map<string, { entries: number; bytes: number }>();
  const backlogOf = (name: string) => {
    let backlog = backlogs.get(name);
    if (backlog === undefined) {
      backlog = { entries: 0, bytes: 0 };
      backlogs.set(name, backlog);
    }
    return backlog;
  };

  /** Hands `text` to the device's sink, unless its backlog is past the bounds. */
  const handOver = (device: AuditDevice, text: string, ticket: Ticket): Promise<void> => {
    const backlog = backlogOf(device.settings.name);
    if (
      backlog.entries >= MAX_UNSETTLED_WRITES ||
      (backlog.entries > 0 && backlog.bytes + text.length > MAX_UNSETTLED_BYTES)
    ) {
      return Promise.reject(new Error(`${backlog.entries} entries it timed out on are not written yet`));
    }
    ticket.handed = true;
    ticket.bytes = text.length;
    const written = device.sink.write(text);
    // Registered before the caller awaits it: settles the ticket before a failure is handled.
    const settle = () => {
      ticket.settled = true;
      if (ticket.abandoned) {
        backlog.entries -= 1;
        backlog.bytes -= ticket.bytes;
      }
    };
    written.then(settle, settle);
    return written;
  };

  /** Counts an entry its device did not write in time, and still holds, in its backlog. */
  const abandon = (device: AuditDevice, ticket: Ticket): void => {
    if (!ticket.handed || ticket.settled || ticket.abandoned) return;
    ticket.abandoned = true;
    const backlog = backlogOf(device.settings.name);
    backlog.entries += 1;
    backlog.bytes += ticket.bytes;
  };

  const attempt = async (device: AuditDevice, write: (ticket: Ticket) => Promise<void>): Promise<boolean> => {
    const { name, type } = device.settings;
    const ticket: Ticket = { bytes: 0, handed: false, settled: false, abandoned: false };
    try {
      await within(write(ticket), device.settings.timeoutMs);
      if (failing.delete(name))
        log.info({ event: 'audit.device_recovered', device: name, type }, 'audit.device_recovered');
      return true;
    } catch (err) {
      abandon(device, ticket);
      try {
        deps.onDeviceFailure?.(name);
      } catch {
        // Telemetry never throws into its host.
      }
      if (!failing.has(name)) {
        failing.add(name);
        const reason = err instanceof Error ? err.message : String(err);
        log.warn({ event: 'audit.device_failed', device: name, type, reason }, 'audit.device_failed');
      }
      return false;
    }
  };

  const toAll = async (line: (device: DeviceSettings, hash: Hasher) => string): Promise<void> => {
    if (devices.length === 0) return;
    const results = await Promise.all(
      devices.map((d) =>
        attempt(d, async (ticket) => {
          const hash = await hasherOf(d.settings);
          await handOver(d, line(d.settings, hash), ticket);
        }),
      ),
    );
    if (!results.includes(true)) throw auditFailed();
  };

  const now = () => goTime(clock.nowMs());

  return {
    /** False when no device is configured: nothing is audited. */
    enabled: devices.length > 0,
    /** The configured devices' names, in config order. */
    deviceNames: devices.map((d) => d.settings.name),

    /**
     * Writes the request entry. Call before serving the request.
     * @throws AuthgateError UNAVAILABLE (`audit_failed`) when devices are configured and none wrote.
     */
    logRequest: (req: AuditRequest): Promise<void> => {
      const time = now();
      return withSpan('audit.request', { 'authgate.audit.devices': deps.devices.length }, () =>
        toAll((d, hash) => JSON.stringify(formatRequestEntry(time, req, blockOf(req, d, hash), hash, d))),
      );
    },

    /**
     * Writes the response entry. Call before the answer leaves.
     * @throws AuthgateError UNAVAILABLE (`audit_failed`) when devices are configured and none wrote.
     */
    logResponse: (req: AuditRequest, res: AuditResponse): Promise<void> => {
      const time = now();
      return withSpan('audit.response', { 'authgate.audit.devices': deps.devices.length }, () =>
        toAll((d, hash) =>
          JSON.stringify(formatResponseEntry(time, req, blockOf(req, d, hash), res, hash, d)),
        ),
      );
    },

    /**
     * The HMAC `device` writes for `value` (`hmac-sha256:<hex>`), for `sys/audit-hash`; undefined
     * when there is no such device. Rejects when the salt cannot be read (store down).
     */
    hash: async (device: string, value: string): Promise<string | undefined> => {
      const d = devices.find((x) => x.settings.name === device);
      return d === undefined ? undefined : (await hasherOf(d.settings))(value);
    },

    /** Reopens every device's destination (files after a logrotate); each failure is logged. */
    reopen: async (): Promise<void> => {
      await Promise.all(
        devices.map((d) =>
          d.sink
            .reopen()
            .catch((err: unknown) =>
              log.warn(
                { event: 'audit.reopen_failed', device: d.settings.name, reason: (err as Error).message },
                'audit.reopen_failed',
              ),
            ),
        ),
      );
    },

    /** Lets writes in flight finish and closes every device. */
    close: async (): Promise<void> => {
      await Promise.all(devices.map((d) => d.sink.close().catch(() => undefined)));
    },
  };
};
export type AuditBroker = ReturnType<typeof createAuditBroker>;

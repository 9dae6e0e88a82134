import type { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import { checkCertAndKey, LISTENER_TLS_FIELDS } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';

/**
 * How often the certificate and key files are looked at, ms. cert-manager renews a certificate at
 * 2/3 of its life (60 days of 90), so a minute is no delay; a look is two `stat`s.
 */
export const TLS_CHECK_INTERVAL_MS = 60_000;
/** A served certificate that ends within this is warned about (`listener.tls_expires_soon`), ms. */
export const TLS_EXPIRY_WARNING_MS = 7 * 24 * 3_600_000;
/** The expiry warning is repeated at most this often while the certificate is served, ms. */
export const TLS_EXPIRY_WARNING_REPEAT_MS = 24 * 3_600_000;
/** Reads of a pair that changed while being read, before the pair is judged as it is. */
const MAX_READS = 3;

/** What started a look at the files: the timer, or SIGHUP (which reads them whatever their stat says). */
export type TlsCheckTrigger = 'interval' | 'SIGHUP';

export type ListenerTlsDeps = {
  /** The HTTPS server (node's `tls.Server`): new connections take the context set here. */
  server: { setSecureContext(options: SecureContextOptions): void };
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
};

/** What a log line may say of a certificate: public data only. */
const describe = (x509: X509Certificate) => ({
  fingerprint: x509.fingerprint256,
  subject: x509.subject,
  notAfter: new Date(x509.validTo).toISOString(),
});

/** The files' versions (inode, size, mtime of what the paths resolve to), or why they cannot be had. */
const versionOf = async (files: { certFile: string; keyFile: string }): Promise<string> => {
  // stat follows the links: the kubelet's swap of `..data` changes what both paths resolve to.
  const [c, k] = await Promise.all([stat(files.certFile), stat(files.keyFile)]);
  return `${c.ino}:${c.size}:${c.mtimeMs}/${k.ino}:${k.size}:${k.mtimeMs}`;
};

/**
 * Follows the listener's certificate and key files, as they are renewed in place (cert-manager
 * through a Secret volume: the kubelet swaps both files at once, by a symlink), and puts a new
 * pair in force with `server.setSecureContext`: new connections get it, open ones keep theirs.
 *
 * `check('SIGHUP')` reads the files; `check('interval')` (every `intervalMs` once `start`ed) reads
 * them when what they resolve to changed (inode, size, mtime), or when the last look failed. A
 * pair equal to the served one changes nothing. A new pair passes the checks of start (the first
 * certificate and the key parse, the key is the certificate's) or is refused: the served pair
 * stays, `listener.tls_reload_failed` (error) says why, and the next look tries again. Looks run
 * one at a time; `check` never rejects. A served certificate that ends within
 * {@link TLS_EXPIRY_WARNING_MS} is warned about at start and then daily.
 */
export const createListenerTls = (
  files: { certFile: string; keyFile: string },
  served: { cert: Buffer; key: Buffer },
  deps: ListenerTlsDeps,
) => {
  const { server, clock, log } = deps;
  const { certFile, keyFile } = files;
  let current = served;
  let x509 = checkCertAndKey(served, { cert: certFile, key: keyFile }, LISTENER_TLS_FIELDS, () => {});
  // Unknown until a first look: the files may have changed between the config's read and now.
  let version: string | undefined;
  let failed = false;
  let warnedAtMs: number | undefined;
  let queue: Promise<void> = Promise.resolve();
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;

  const warnIfEnding = () => {
    if (x509 === undefined) return;
    const now = clock.nowMs();
    const leftMs = new Date(x509.validTo).getTime() - now;
    if (leftMs > TLS_EXPIRY_WARNING_MS) return;
    if (warnedAtMs !== undefined && now - warnedAtMs < TLS_EXPIRY_WARNING_REPEAT_MS) return;
    warnedAtMs = now;
    log.warn(
      { event: 'listener.tls_expires_soon', certFile, ...describe(x509), expired: leftMs <= 0 },
      'listener.tls_expires_soon',
    );
  };

  const fail = (trigger: TlsCheckTrigger, reason: string) => {
    failed = true;
    log.error(
      { event: 'listener.tls_reload_failed', trigger, certFile, keyFile, reason },
      'listener.tls_reload_failed',
    );
  };

  /** Reads both files until they hold still across the read (a swap may land between the two reads). */
  const readPair = async () => {
    let before = await versionOf(files);
    for (let read = 1; ; read++) {
      const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
      const after = await versionOf(files);
      if (after === before || read === MAX_READS) return { pair: { cert, key }, version: after };
      before = after;
    }
  };

  const look = async (trigger: TlsCheckTrigger) => {
    try {
      if (trigger === 'interval' && !failed && version !== undefined && (await versionOf(files)) === version)
        return;
      const { pair, version: read } = await readPair();
      if (pair.cert.equals(current.cert) && pair.key.equals(current.key)) {
        version = read;
        failed = false;
        return;
      }
      const problems: string[] = [];
      const next = checkCertAndKey(
        pair,
        { cert: certFile, key: keyFile },
        LISTENER_TLS_FIELDS,
        (_at, message) => problems.push(message),
      );
      if (next === undefined) return fail(trigger, problems.join('; '));
      server.setSecureContext(pair);
      current = pair;
      x509 = next;
      version = read;
      failed = false;
      warnedAtMs = undefined;
      log.info(
        { event: 'listener.tls_reloaded', trigger, certFile, ...describe(next) },
        'listener.tls_reloaded',
      );
    } catch (err) {
      // An unreadable file, or a pair node's TLS refuses: the served pair stays.
      fail(trigger, (err as Error).message);
    } finally {
      warnIfEnding();
    }
  };

  const check = (trigger: TlsCheckTrigger): Promise<void> => {
    // A tick while a look runs adds nothing; a SIGHUP reads the files after it, whatever it found.
    if (trigger === 'interval' && pending > 0) return queue;
    pending++;
    queue = queue.then(() => look(trigger)).finally(() => pending--);
    return queue;
  };

  return {
    check,
    /** Looks at the files every `intervalMs` (default {@link TLS_CHECK_INTERVAL_MS}); warns now of a certificate near its end. */
    start(intervalMs = TLS_CHECK_INTERVAL_MS) {
      warnIfEnding();
      timer ??= setInterval(() => void check('interval'), intervalMs);
      // The looks never keep the process up.
      timer.unref();
    },
    /** Stops the looks; one in progress finishes. */
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
};
export type ListenerTls = ReturnType<typeof createListenerTls>;

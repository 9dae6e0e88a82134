import type { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';
import {
  checkCertAndKey,
  createFileFollower,
  FILE_CHECK_INTERVAL_MS,
  LISTENER_TLS_FIELDS,
} from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';

/** A served certificate that ends within this is warned about (`listener.tls_expires_soon`), ms. */
export const TLS_EXPIRY_WARNING_MS = 7 * 24 * 3_600_000;
/** The expiry warning is repeated at most this often while the certificate is served, ms. */
export const TLS_EXPIRY_WARNING_REPEAT_MS = 24 * 3_600_000;

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

/**
 * Follows the listener's certificate and key files, as they are renewed in place (cert-manager
 * through a Secret volume: the kubelet swaps both files at once, by a symlink), and puts a new
 * pair in force with `server.setSecureContext`: new connections get it, open ones keep theirs.
 *
 * `check('SIGHUP')` reads the files; `check('interval')` (every `intervalMs` once `start`ed) reads
 * them when what they resolve to changed (inode, size, mtime), or when the last look failed
 * ({@link createFileFollower}). A pair equal to the served one changes nothing. A new pair passes
 * the checks of start (the first certificate and the key parse, the key is the certificate's) or
 * is refused: the served pair stays, `listener.tls_reload_failed` (error) says why, and the next
 * look tries again. Looks run one at a time; `check` never rejects. A served certificate that ends
 * within {@link TLS_EXPIRY_WARNING_MS} is warned about at start and then daily.
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
  let warnedAtMs: number | undefined;

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

  const follower = createFileFollower({
    paths: [certFile, keyFile],
    read: async () => {
      const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
      return { cert, key };
    },
    apply: (pair, trigger) => {
      if (pair.cert.equals(current.cert) && pair.key.equals(current.key)) return undefined;
      const problems: string[] = [];
      const next = checkCertAndKey(
        pair,
        { cert: certFile, key: keyFile },
        LISTENER_TLS_FIELDS,
        (_at, message) => problems.push(message),
      );
      if (next === undefined) return problems.join('; ');
      server.setSecureContext(pair);
      current = pair;
      x509 = next;
      warnedAtMs = undefined;
      log.info(
        { event: 'listener.tls_reloaded', trigger, certFile, ...describe(next) },
        'listener.tls_reloaded',
      );
      return undefined;
    },
    onFailure: (trigger, reason) =>
      log.error(
        { event: 'listener.tls_reload_failed', trigger, certFile, keyFile, reason },
        'listener.tls_reload_failed',
      ),
    afterLook: warnIfEnding,
  });

  return {
    check: follower.check,
    /** The end (notAfter) of the certificate served now, Unix seconds; undefined if it did not parse. */
    notAfterSeconds: (): number | undefined =>
      x509 === undefined ? undefined : new Date(x509.validTo).getTime() / 1000,
    /** Looks at the files every `intervalMs` (default {@link FILE_CHECK_INTERVAL_MS}); warns now of a certificate near its end. */
    start(intervalMs = FILE_CHECK_INTERVAL_MS) {
      warnIfEnding();
      follower.start(intervalMs);
    },
    /** Stops the looks; one in progress finishes. */
    stop: follower.stop,
  };
};
export type ListenerTls = ReturnType<typeof createListenerTls>;

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Problem } from './types.js';

/** Fewest bytes of server key accepted (HMAC-SHA256 keys shorter than its output weaken it). */
export const MIN_SERVER_KEY_BYTES = 32;
/** Fewest characters of admin token accepted. */
export const MIN_ADMIN_TOKEN_CHARS = 16;
/** The fields of authgate.yaml that name the listener's certificate and key. */
export const LISTENER_TLS_FIELDS = { cert: 'listener.tls_cert_file', key: 'listener.tls_key_file' } as const;

/**
 * Reads a file that config names, reporting an unreadable one at `path` (the field) rather than
 * failing later at the first request. Returns `undefined` after reporting.
 */
export const readConfigFile = (file: string, path: string, problem: Problem): Buffer | undefined => {
  try {
    return readFileSync(file);
  } catch (err) {
    problem(path, `cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
};

/**
 * A warning for each secret file (`[field, file]`) that any user of the machine may read or
 * write: a key or the admin token is for authgate alone. Group access is left alone: a
 * Kubernetes Secret volume with `defaultMode: 0440` is shared with the pod's `fsGroup` by design.
 * A file that cannot be stat'ed was reported as unreadable already.
 */
export const secretFileWarnings = (files: ReadonlyArray<readonly [string, string | undefined]>): string[] => {
  const warnings: string[] = [];
  for (const [field, file] of files) {
    if (file === undefined) continue;
    let mode: number;
    try {
      mode = statSync(file).mode;
    } catch {
      continue;
    }
    if ((mode & 0o007) !== 0) {
      warnings.push(
        `${field}: ${file} is open to every user of the machine (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); make it 0600 or 0400`,
      );
    }
  }
  return warnings;
};

/** {@link readConfigFile} as UTF-8 text, trimmed when `trim`. */
export const readConfigText = (
  file: string,
  path: string,
  problem: Problem,
  options: { trim?: boolean } = {},
): string | undefined => {
  const text = readConfigFile(file, path, problem)?.toString('utf8');
  return options.trim === true ? text?.trim() : text;
};

/**
 * Reads `server_key_file`: its trimmed content, as UTF-8 bytes, is the key. Reports a file
 * holding fewer than {@link MIN_SERVER_KEY_BYTES} bytes (an empty file, `/dev/null`).
 */
export const readServerKey = (file: string, path: string, problem: Problem): Buffer | undefined => {
  const text = readConfigText(file, path, problem, { trim: true });
  if (text === undefined) return undefined;
  const key = Buffer.from(text, 'utf8');
  if (key.length < MIN_SERVER_KEY_BYTES) {
    problem(path, `${file} holds ${key.length} bytes; at least ${MIN_SERVER_KEY_BYTES} are required`);
    return undefined;
  }
  return key;
};

/** Reads `admin_token_file`: its trimmed content, at least {@link MIN_ADMIN_TOKEN_CHARS} characters. */
export const readAdminToken = (file: string, path: string, problem: Problem): string | undefined => {
  const token = readConfigText(file, path, problem, { trim: true });
  if (token === undefined) return undefined;
  if (token.length < MIN_ADMIN_TOKEN_CHARS) {
    problem(path, `${file} holds a token shorter than ${MIN_ADMIN_TOKEN_CHARS} characters`);
    return undefined;
  }
  return token;
};

/**
 * Reads a PEM CA bundle and checks, now rather than at the first connection (where it would look
 * like a server certificate nothing trusts), that it holds a certificate. Reported at `path`.
 */
export const readCaBundle = (file: string, path: string, problem: Problem): string | undefined => {
  const text = readConfigText(file, path, problem);
  return text === undefined ? undefined : checkCaText(text, path, problem, `${file} holds`);
};

/**
 * `text` when it holds a PEM certificate (a CA bundle given in the file itself, or read from one);
 * otherwise undefined, reported at `path` as `<holder> no PEM certificate: <why>`.
 */
export const checkCaText = (
  text: string,
  path: string,
  problem: Problem,
  holder = 'holds',
): string | undefined => {
  try {
    new X509Certificate(text);
  } catch (err) {
    problem(path, `${holder} no PEM certificate: ${(err as Error).message}`);
    return undefined;
  }
  return text;
};

/**
 * Checks a PEM certificate chain and its private key as read from `files`: the first certificate
 * parses, the key parses (unencrypted) and is the certificate's. Returns the first certificate, or
 * `undefined` after reporting at the fields `at.cert` and `at.key` (the messages name the files,
 * never their content).
 */
export const checkCertAndKey = (
  pair: { cert: Buffer; key: Buffer },
  files: { cert: string; key: string },
  at: { cert: string; key: string },
  problem: Problem,
): X509Certificate | undefined => {
  let x509: X509Certificate | undefined;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch (err) {
    problem(at.cert, `${files.cert} holds no PEM certificate: ${(err as Error).message}`);
  }
  let privateKey: ReturnType<typeof createPrivateKey> | undefined;
  try {
    privateKey = createPrivateKey(pair.key);
  } catch (err) {
    problem(at.key, `${files.key} holds no unencrypted PEM private key: ${(err as Error).message}`);
  }
  if (x509 === undefined || privateKey === undefined) return undefined;
  if (!x509.checkPrivateKey(privateKey)) {
    problem(at.key, `${files.key} is not the private key of the certificate in ${files.cert}`);
    return undefined;
  }
  return x509;
};

/**
 * Reads a PEM certificate chain and its private key (the listener's, Redis's client certificate)
 * and checks them ({@link checkCertAndKey}) now rather than at `listen` or the first connection.
 * Problems are reported at the fields `at.cert` and `at.key`.
 */
export const readCertAndKey = (
  certFile: string,
  keyFile: string,
  at: { cert: string; key: string },
  problem: Problem,
): { cert: Buffer; key: Buffer } | undefined => {
  const cert = readConfigFile(certFile, at.cert, problem);
  const key = readConfigFile(keyFile, at.key, problem);
  if (cert === undefined || key === undefined) return undefined;
  const pair = { cert, key };
  return checkCertAndKey(pair, { cert: certFile, key: keyFile }, at, problem) === undefined
    ? undefined
    : pair;
};

import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args, { timeout: 15_000 });

export type TestCa = { name: string; cert: string; key: string };

/** A self-signed CA, `<name>-ca.crt` and `<name>-ca.key` in `dir` (the openssl CLI makes it). */
export const makeCa = async (dir: string, name: string): Promise<TestCa> => {
  const cert = join(dir, `${name}-ca.crt`);
  const key = join(dir, `${name}-ca.key`);
  await openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-days', '1', '-subj', `/CN=${name} test CA`, '-keyout', key, '-out', cert],
  );
  return { name, cert, key };
};

/**
 * A certificate for 127.0.0.1 and localhost signed by `ca`, valid for `days` (default 1):
 * `<name>.crt` and `<name>.key` in `dir`.
 */
export const makeServerCert = async (
  dir: string,
  ca: TestCa,
  name: string,
  days = 1,
): Promise<{ cert: string; key: string }> => {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await openssl(
    ...[
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      String(days),
    ],
    ...['-CA', ca.cert, '-CAkey', ca.key, '-subj', `/CN=${name}`, '-keyout', key, '-out', cert],
    ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=CA:FALSE'],
  );
  return { cert, key };
};

/**
 * A Secret volume as the kubelet writes it: `dir/tls.crt` and `dir/tls.key` are links into
 * `dir/..data`, itself a link to the directory of the current version. `swap` writes a version
 * and replaces `..data` by a rename, as the kubelet's atomic writer does.
 */
export const secretVolume = (dir: string, first: { cert: string; key: string }) => {
  mkdirSync(dir);
  let n = 0;
  let current: string | undefined;
  const swap = (cert: string, key: string) => {
    const version = `..2026_01_01_00_00_0${n++}`;
    mkdirSync(join(dir, version), { mode: 0o700 });
    copyFileSync(cert, join(dir, version, 'tls.crt'));
    copyFileSync(key, join(dir, version, 'tls.key'));
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    if (current !== undefined) rmSync(join(dir, current), { recursive: true });
    current = version;
  };
  swap(first.cert, first.key);
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  symlinkSync('..data/tls.key', join(dir, 'tls.key'));
  return { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), swap };
};
export type SecretVolume = ReturnType<typeof secretVolume>;

import { execFile } from 'node:child_process';
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

import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile } from '../config/index.js';
import { AUDIT_USAGE, runAudit } from './audit.js';
import { VERSION } from './compose.js';
import { devClusterApi, runDev, runDevToken } from './dev.js';
import { runDevTokens } from './dev-tokens.js';
import { runServer } from './server.js';

const USAGE = `authgate ${VERSION}: a Vault-compatible auth gateway for Kubernetes workload identity

Usage:
  authgate server [--config FILE]        run the gateway (config from --config or AUTHGATE_CONFIG)
  authgate dev [--port N] [--address A] [--redis URL] [--audit-file PATH] [--metrics on|off] [--policy-dir DIR]
                                         run a simulated cluster and the gateway, ready to log in
  authgate dev token --namespace NS --service-account SA [--audience A] [--ttl SECONDS] [--pod NAME]
                                         mint a token from the running dev cluster
  authgate dev tokens --count N --namespaces K [--out tokens.json]
                                         N distinct pod tokens over K namespaces, for load tests
  authgate audit query|tail|summary|hash …
                                         who logged in, and why a login was refused (see below)
  authgate version

${AUDIT_USAGE.replace(/^Usage:\n/, 'Audit:\n')}`;

/** Entry point of the `authgate` binary. Resolves the exit code (long-running commands resolve on shutdown). */
export const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      const path = values.config ?? process.env['AUTHGATE_CONFIG'];
      if (path === undefined) {
        process.stderr.write('authgate server: give the config file with --config FILE or AUTHGATE_CONFIG\n');
        return 2;
      }
      try {
        // A policy reload reads the whole file again, so that edited `policies:` take effect too.
        return await runServer(loadConfigFile(path), { policySources: () => loadConfigFile(path).policies });
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${err.message}\n`);
          return 78; // EX_CONFIG
        }
        throw err;
      }
    }
    case 'dev': {
      if (rest[0] === 'token') return runDevToken(rest.slice(1));
      if (rest[0] === 'tokens') {
        const api = devClusterApi('authgate dev tokens');
        return api === undefined ? 1 : runDevTokens(rest.slice(1), api);
      }
      return runDev(rest);
    }
    case 'audit':
      return runAudit(rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
    case 'version':
    case '--version':
      process.stdout.write(`authgate ${VERSION}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`authgate: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
};

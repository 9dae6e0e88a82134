import { AUDIT_USAGE, runAudit } from './audit.js';
import { runCommand, usageLine } from './command.js';
import { VERSION } from './compose.js';
import { DEV_USAGE, runDev } from './dev.js';
import { DEV_TOKEN_USAGE, runDevToken } from './dev-token.js';
import { DEV_TOKENS_USAGE, runDevTokens } from './dev-tokens.js';
import { runServerCommand, SERVER_USAGE } from './server.js';

const USAGE = `authgate ${VERSION}: a Vault-compatible auth gateway for Kubernetes workload identity

Usage:
${[SERVER_USAGE, DEV_USAGE, DEV_TOKEN_USAGE, DEV_TOKENS_USAGE].map(usageLine).join('')}\
${usageLine({ synopsis: 'authgate audit query|tail|summary|hash …', summary: 'who logged in, and why a login was refused (see below)' })}\
  authgate version

Each command prints its options with --help. Exit codes: 0 done, 1 failed, 2 a usage mistake,
78 a configuration mistake.

${AUDIT_USAGE.replace(/^Usage:\n/, 'Audit:\n')}`;

/** Entry point of the `authgate` binary. Resolves the exit code (long-running commands resolve on shutdown). */
export const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return runCommand('authgate server', SERVER_USAGE, () => runServerCommand(rest));
    case 'dev':
      if (rest[0] === 'token')
        return runCommand('authgate dev token', DEV_TOKEN_USAGE, () => runDevToken(rest.slice(1)));
      if (rest[0] === 'tokens')
        return runCommand('authgate dev tokens', DEV_TOKENS_USAGE, () => runDevTokens(rest.slice(1)));
      return runCommand('authgate dev', DEV_USAGE, () => runDev(rest));
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

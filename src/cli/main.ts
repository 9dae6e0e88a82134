import type { CommandUsage } from './command.js';
import { VERSION } from './version.js';

/*
 * Each command's module is imported when that command runs: the gateway's (fastify, the
 * Kubernetes client, OpenTelemetry) takes over a second to load, which `authgate version`,
 * `dev token` and `audit` have no use for. The command runner (with the config parser it names
 * errors by) too: `authgate version` loads nothing.
 */

/** `runCommand` of command.js, loaded with the command it runs. */
const run = async (name: string, usage: CommandUsage, command: () => Promise<number>): Promise<number> =>
  (await import('./command.js')).runCommand(name, usage, command);

/** The usage of every command, for `authgate --help`. */
const usage = async (): Promise<string> => {
  const { usageLine } = await import('./command.js');
  const {
    SERVER_USAGE,
    DEV_USAGE,
    DEV_TOKEN_USAGE,
    DEV_TOKENS_USAGE,
    AGENT_USAGE,
    TOKEN_USAGE,
    VERSION_USAGE,
    AUDIT_USAGE,
  } = await import('./usages.js');
  return `authgate ${VERSION}: a Vault-compatible auth gateway for Kubernetes workload identity

Usage:
${[SERVER_USAGE, DEV_USAGE, DEV_TOKEN_USAGE, DEV_TOKENS_USAGE, AGENT_USAGE].map(usageLine).join('')}\
${usageLine({ synopsis: 'authgate token lookup|revoke|revoke-identity …', summary: TOKEN_USAGE.summary })}\
${usageLine({ synopsis: 'authgate audit query|tail|summary|hash …', summary: 'who logged in, and why a login was refused (see below)' })}\
${usageLine(VERSION_USAGE)}
Each command prints its options with --help. Exit codes: 0 done, 1 failed, 2 a usage mistake,
78 a configuration mistake.

${AUDIT_USAGE.replace(/^Usage:\n/, 'Audit:\n')}`;
};

/** Entry point of the `authgate` binary. Resolves the exit code (long-running commands resolve on shutdown). */
export const main = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server': {
      const [{ runServerCommand }, { SERVER_USAGE }] = await Promise.all([
        import('./server.js'),
        import('./usages.js'),
      ]);
      return run('authgate server', SERVER_USAGE, () => runServerCommand(rest));
    }
    case 'dev':
      if (rest[0] === 'token') {
        const [{ runDevToken }, { DEV_TOKEN_USAGE }] = await Promise.all([
          import('./dev-token.js'),
          import('./usages.js'),
        ]);
        return run('authgate dev token', DEV_TOKEN_USAGE, () => runDevToken(rest.slice(1)));
      }
      if (rest[0] === 'tokens') {
        const [{ runDevTokens }, { DEV_TOKENS_USAGE }] = await Promise.all([
          import('./dev-tokens.js'),
          import('./usages.js'),
        ]);
        return run('authgate dev tokens', DEV_TOKENS_USAGE, () => runDevTokens(rest.slice(1)));
      } else {
        const [{ runDev }, { DEV_USAGE }] = await Promise.all([import('./dev.js'), import('./usages.js')]);
        return run('authgate dev', DEV_USAGE, () => runDev(rest));
      }
    case 'agent': {
      const [{ runAgent }, { AGENT_USAGE }] = await Promise.all([
        import('./agent.js'),
        import('./usages.js'),
      ]);
      return run('authgate agent', AGENT_USAGE, () => runAgent(rest));
    }
    case 'token': {
      const { runToken } = await import('./token.js');
      return runToken(rest, { stdout: process.stdout, stderr: process.stderr });
    }
    case 'audit': {
      const { runAudit } = await import('./audit.js');
      return runAudit(rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
    }
    case 'version':
    case '--version': {
      const print = async () => {
        process.stdout.write(`authgate ${VERSION}\n`);
        return 0;
      };
      // Without arguments nothing is loaded; with some (`--help`), they are read as every command's.
      if (rest.length === 0) return print();
      const [{ parseFlags }, { VERSION_USAGE }] = await Promise.all([
        import('./command.js'),
        import('./usages.js'),
      ]);
      return run('authgate version', VERSION_USAGE, () => {
        parseFlags(rest, {});
        return print();
      });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(await usage());
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`authgate: unknown command "${command}"\n\n${await usage()}`);
      return 2;
  }
};

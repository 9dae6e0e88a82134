import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// Every audit device of the tests writes here; the last project scans it for secrets.
const auditDir =
  process.env['AUTHGATE_TEST_AUDIT_DIR'] ?? join(tmpdir(), `authgate-audit-test-${process.pid}`);
process.env['AUTHGATE_TEST_AUDIT_DIR'] = auditDir; // for the global setup, in this process
const SCAN = 'test/audit-secrets-scan.test.ts';
// Files that change process-wide state (the OpenTelemetry globals and span switch, process.env,
// spies on process.stdout, fake timers): each runs in a fresh module graph of its own.
const GLOBAL_STATE = [
  'src/telemetry/telemetry.test.ts',
  'src/cli/main.test.ts',
  'src/lib/log-budget.test.ts',
  'test/telemetry-http.test.ts',
  'test/secrets-leak-scan.test.ts',
  'test/cli-args-fuzz.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default (cores - 1) is one worker on the 2-core CI machine: files then ran one after
    // another (563 s), though most of a file's time is spent waiting on the processes it starts
    // (authgate, redis-server, sentinels) and on timeouts. Two workers: 413 s, same results.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    env: { AUTHGATE_TEST_AUDIT_DIR: auditDir },
    globalSetup: ['test/helpers/audit-dir-setup.ts'],
    projects: [
      // Without isolation a worker imports the modules once for all the files it runs, instead of
      // once per file: the import of fastify, client-node and OpenTelemetry was most of the
      // suite's time (11 min with isolation on this 2-core machine, 7 without). The code keeps no
      // global state (factories over injected deps); the files that change the process's own are
      // in the isolated project below.
      {
        extends: true,
        test: {
          name: 'authgate',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, SCAN, ...GLOBAL_STATE],
          isolate: false,
        },
      },
      { extends: true, test: { name: 'authgate-isolated', include: GLOBAL_STATE } },
      // Runs once every other test file has finished: it reads every audit line they wrote.
      { extends: true, test: { name: 'audit-scan', include: [SCAN], sequence: { groupOrder: 1 } } },
    ],
  },
});

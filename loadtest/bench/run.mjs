#!/usr/bin/env node
/**
 * `npm run bench`: every scenario of scenarios.mjs against a real process (authgate dev or the
 * bare Fastify baseline), each warmed up and then measured `runs` times with autocannon (then its
 * follow-ups, e.g. the same load paced at half the rate just measured); prints the medians as a
 * table with the ratios to the baselines, the API server calls, and the verdicts on targets.mjs,
 * and rewrites the generated section of docs/benchmarks.md.
 *
 * Exits 0 when every run was clean, even if a target is missed; 1 on any error (an unexpected
 * status, a request error, a process that would not start); 130/143 on SIGINT/SIGTERM. Every
 * child process is killed on every way out.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { measure } from './load.mjs';
import { USAGE, parseOptions } from './options.mjs';
import { REPO_ROOT, cpuSeconds, killAllNow, machineBusySeconds, snapshotBuild, stopAll } from './procs.mjs';
import {
  buildRows,
  formatDetails,
  formatTable,
  gitRevision,
  machineInfo,
  renderSection,
  writeSection,
} from './report.mjs';
import { KV_BENCH_POLICIES, SCENARIOS, reportEntries } from './scenarios.mjs';
import { TARGETS } from './targets.mjs';
import { evaluateTargets, formatVerdicts, verdictItems } from './verdicts.mjs';
import { measureAclCost } from './acl-cost.mjs';

/** Pause between runs, so one run's GC and socket teardown do not leak into the next, ms. */
const PAUSE_BETWEEN_RUNS_MS = 1000;
/** How long children get to exit after SIGTERM when the bench is interrupted, ms. */
const STOP_ON_SIGNAL_GRACE_MS = 5000;
/** Quiet seconds in a row that end a wait for the machine to quiet down (test runs come in bursts). */
const QUIET_SECONDS_AFTER_WAIT = 3;

/**
 * The pause before a run: at least {@link PAUSE_BETWEEN_RUNS_MS}; while the machine is busier than
 * the foreign-CPU limit, longer (within `budget`), until it has been quiet for
 * {@link QUIET_SECONDS_AFTER_WAIT} seconds in a row. Between runs the bench is idle, and so is
 * the system under test but for the tail of its own preparation (the garbage of the tokens it has
 * just minted): its CPU (`pids`) is left out, and whatever else is busy is someone else.
 *
 * @param {{ maxForeignCpuPercent: number }} gate
 * @param {{ quietWaitMs: number }} budget
 * @param {number[]} pids  the server and its helpers
 */
const settle = async (gate, budget, pids) => {
  let waiting = false;
  let quietInARow = 0;
  const ours = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  for (;;) {
    const before = machineBusySeconds() - ours();
    await sleep(PAUSE_BETWEEN_RUNS_MS);
    const busySeconds = machineBusySeconds() - ours() - before;
    const busyPercent = (busySeconds / (PAUSE_BETWEEN_RUNS_MS / 1000)) * 100;
    quietInARow = busyPercent <= gate.maxForeignCpuPercent ? quietInARow + 1 : 0;
    if (quietInARow >= (waiting ? QUIET_SECONDS_AFTER_WAIT : 1)) return;
    if (budget.quietWaitMs <= 0) {
      if (waiting) log('  no more waiting: the bench has used its --max-wait-seconds');
      return;
    }
    if (!waiting)
      log(`  waiting for the machine to quiet down (${Math.round(busyPercent)} % of a core busy)`);
    waiting = true;
    budget.quietWaitMs -= PAUSE_BETWEEN_RUNS_MS;
  }
};

const log = (message) => process.stderr.write(`${message}\n`);

/** The command as a reader would type it again. */
const commandLine = (argv) => {
  const args = argv.length > 0 ? ` -- ${argv.join(' ')}` : '';
  return process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${args}`
    : `node loadtest/bench/run.mjs${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;
};

/** @typedef {import('./report.mjs').MeasuredRun} AcceptedRun */

/** One run's line of progress. */
const runLine = (label, attempt, r, withHelpers) =>
  `  ${label}${attempt > 1 ? ` (attempt ${attempt})` : ''}: ` +
  `${Math.round(r.rps)} req/s${r.targetRps === undefined ? '' : ` (paced at ${Math.round(r.targetRps)})`}, ` +
  `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ` +
  `${r.requests} requests${r.deniedRequests > 0 ? ` (${r.deniedRequests} refused as expected, p99 ${r.deniedP99Ms.toFixed(2)} ms)` : ''} in ${r.durationSeconds.toFixed(2)} s; ` +
  (r.apiCalls === undefined ? '' : `API calls ${r.apiCalls} (TokenReviews ${r.tokenReviews}); `) +
  `longest loop stall: ${r.maxLoopStallMs === undefined ? '' : `server ${Math.round(r.maxLoopStallMs)} ms, `}` +
  `load generator ${Math.round(r.loadgenMaxStallMs)} ms; ` +
  `CPU s: server ${r.serverCpuSeconds.toFixed(2)}, ` +
  (r.apiServerCpuSeconds === undefined ? '' : `API server ${r.apiServerCpuSeconds.toFixed(2)}, `) +
  (withHelpers ? `helpers ${r.helperCpuSeconds.toFixed(2)}, ` : '') +
  `autocannon ${r.loadgenCpuSeconds.toFixed(2)}; rest of the machine ${Math.round(r.foreignCpuPercent)} %`;

/**
 * One round of a scenario: a fresh fixture, its warm-up and one measured run; in the scenario's
 * last round, its follow-ups too, given every run of the scenario so far. The fixture is always
 * closed. A run during which the rest of the machine used more than `maxForeignCpuPercent` is
 * repeated, `maxRetries` times at most in the whole scenario (follow-ups included); when every
 * attempt at a run was disturbed, the least disturbed one is kept and flagged.
 *
 * @param {import('./scenarios.mjs').Scenario} scenario
 * @param {import('./scenarios.mjs').BenchOptions} opts
 * @param {{ maxForeignCpuPercent: number, maxRetries: number, maxWaitSeconds: number }} gate
 * @param {{ quietWaitMs: number }} budget  what is left for the whole bench
 * @param {{ round: number, rounds: number, prior: AcceptedRun[], retries: { used: number } }} place
 *   which round of how many, the scenario's runs of the earlier rounds, and the retries it used
 * @returns {Promise<Array<{ id: string, server: string, runs: AcceptedRun[], facts: Record<string, string> }>>}
 *   the scenario's result (this round's run), then each follow-up's
 */
const runScenario = async (scenario, opts, gate, budget, place) => {
  log(
    `\n[${scenario.id}] ${scenario.title}${place.rounds > 1 ? ` (round ${place.round + 1} of ${place.rounds})` : ''}`,
  );
  const fixture = await scenario.setup(opts);
  const withHelpers = (fixture.helperPids?.length ?? 0) > 0;
  try {
    /**
     * One run of the load `makePlan` gives (which may mint its tokens, before the wait for quiet),
     * with the API server's calls counted around it.
     *
     * @param {() => Promise<import('./scenarios.mjs').LoadPlan | undefined> | import('./scenarios.mjs').LoadPlan | undefined} makePlan
     * @returns {Promise<AcceptedRun | undefined>}
     */
    const once = async (makePlan) => {
      await fixture.beforeRun?.();
      const plan = await makePlan();
      if (plan === undefined) return undefined;
      await settle(gate, budget, [
        fixture.serverPid,
        ...(fixture.apiServerPid === undefined ? [] : [fixture.apiServerPid]),
        ...(fixture.helperPids ?? []),
      ]);
      const counter = fixture.apiCounter;
      const before = await counter?.read();
      // Read (and so reset) the gateway's longest loop stall just before the load.
      await fixture.loopDelay?.read();
      const r = await measure({
        url: fixture.url,
        path: fixture.path,
        connections: opts.connections,
        serverPid: fixture.serverPid,
        ...(fixture.apiServerPid === undefined ? {} : { apiServerPid: fixture.apiServerPid }),
        helperPids: fixture.helperPids ?? [],
        ...plan,
      });
      const maxLoopStallMs = await fixture.loopDelay?.read();
      const after = await counter?.read();
      const api =
        counter === undefined || before === undefined || after === undefined
          ? {}
          : {
              apiCalls: after.calls - before.calls,
              tokenReviews: after.tokenReviews - before.tokenReviews,
              apiSource: counter.source,
            };
      return {
        ...r,
        ...api,
        ...(maxLoopStallMs === undefined ? {} : { maxLoopStallMs }),
        attempts: 1,
        disturbed: false,
      };
    };
    /**
     * One measured run, repeated while disturbed (within the retries left).
     *
     * @param {string} label  e.g. `run 2/3`
     * @param {() => ReturnType<Parameters<typeof once>[0]>} makePlan
     * @returns {Promise<AcceptedRun[]>} the run kept
     */
    const measuredRun = async (label, makePlan) => {
      /** @type {AcceptedRun | undefined} */
      let kept;
      for (let attempt = 1; ; attempt++) {
        const r = await once(makePlan);
        if (r === undefined) break;
        const disturbed = r.foreignCpuPercent > gate.maxForeignCpuPercent;
        log(`${runLine(label, attempt, r, withHelpers)}${disturbed ? ' — disturbed' : ''}`);
        if (kept === undefined || r.foreignCpuPercent < kept.foreignCpuPercent) {
          kept = { ...r, attempts: attempt, disturbed };
        } else {
          kept.attempts = attempt;
        }
        if (!disturbed || place.retries.used === gate.maxRetries) break;
        place.retries.used++;
      }
      if (kept === undefined) throw new Error(`${label}: no load`);
      return [kept];
    };

    const warm = await once(() => fixture.plan('warmup'));
    log(`  warm-up: ${Math.round(warm?.rps ?? 0)} req/s`);
    const runs = await measuredRun(`run ${place.round + 1}/${place.rounds}`, () => fixture.plan('run'));
    const out = [{ id: scenario.id, server: fixture.server, runs, facts: fixture.facts }];
    if (place.round < place.rounds - 1) return out;
    const all = [...place.prior, ...runs];
    for (const followUp of scenario.followUps ?? []) {
      const spec = fixture.followUp?.(followUp.id, all);
      if (spec === undefined) continue;
      log(`  [${followUp.id}] ${followUp.title}`);
      // Several paced runs, median reported, as for every other row: one run's p99 is decided by
      // its 1 % slowest answers, and a single slow patch of a VM is enough to fill them.
      const pacedRuns = [];
      for (let i = 1; i <= opts.pacedRuns; i++) {
        pacedRuns.push(...(await measuredRun(`run ${i}/${opts.pacedRuns}`, spec.plan)));
      }
      out.push({ id: followUp.id, server: fixture.server, runs: pacedRuns, facts: spec.facts });
    }
    return out;
  } catch (err) {
    const died = fixture.exitReport();
    const printed = fixture.outputTail?.().trim() ?? '';
    const report =
      died !== undefined
        ? `\n${died}`
        : printed !== ''
          ? `\n--- what the server printed last ---\n${printed}`
          : '';
    throw new Error(`[${scenario.id}] ${err instanceof Error ? err.message : String(err)}${report}`, {
      cause: err,
    });
  } finally {
    await fixture.close();
  }
};

const main = async (argv) => {
  const startedMs = Date.now();
  const options = parseOptions(argv);
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const stateDir = mkdtempSync(join(tmpdir(), 'authgate-bench-'));
  benchDir = stateDir;
  /** @type {import('./scenarios.mjs').BenchOptions} */
  const opts = { ...options.bench, stateDir, appDir: join(stateDir, 'app'), log };
  const results = new Map();
  const facts = new Map();
  const budget = { quietWaitMs: options.gate.maxWaitSeconds * 1000 };
  try {
    snapshotBuild(opts.appDir);
    // In rounds: each round starts every scenario afresh and measures it once, so a scenario's
    // runs are spread over the whole bench. A VM whose speed drifts by tens of percent within the
    // hour (the empty route: 0.016 CPU s/1k at 02:08, 0.030 at 03:17, same build) then slows
    // every scenario alike, instead of whichever ran during the slow spell.
    const countOf = (scenario) => scenario.runs ?? opts.runs;
    const rounds = Math.max(...options.scenarios.map(countOf));
    const retries = new Map(options.scenarios.map((s) => [s.id, { used: 0 }]));
    for (let round = 0; round < rounds; round++) {
      for (const scenario of options.scenarios) {
        if (round >= countOf(scenario)) continue;
        const place = {
          round,
          rounds: countOf(scenario),
          prior: results.get(scenario.id)?.runs ?? [],
          retries: /** @type {{ used: number }} */ (retries.get(scenario.id)),
        };
        for (const r of await runScenario(scenario, opts, options.gate, budget, place)) {
          const earlier = results.get(r.id);
          results.set(r.id, earlier === undefined ? r : { ...r, runs: [...earlier.runs, ...r.runs] });
          facts.set(r.id, r.facts);
        }
      }
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }

  const entries = reportEntries(SCENARIOS);
  const rows = buildRows(entries, results);
  const verdicts = evaluateTargets(TARGETS, rows, opts);
  const kvRead = rows.find((r) => r.id === 'kv-read');
  const acl =
    kvRead === undefined
      ? undefined
      : aclVerdict(
          await measureAclCost({ distDir: join(REPO_ROOT, 'dist'), policies: KV_BENCH_POLICIES }),
          kvRead,
        );
  const details = formatDetails(rows);
  process.stdout.write(
    `\n${formatTable(rows)}\n${details === '' ? '' : `\n${details}\n`}\n${formatVerdicts(verdicts)}\n${acl === undefined ? '' : `${acl.text}\n`}`,
  );

  const require = createRequire(import.meta.url);
  const run = {
    date: new Date(),
    command: commandLine(argv),
    revision: gitRevision(REPO_ROOT),
    autocannon: require('autocannon/package.json').version,
    machine: machineInfo(),
    opts,
    gate: options.gate,
    scenarios: entries.filter((s) => results.has(s.id)),
    facts,
    rows,
    verdicts,
    targetItems: verdictItems(verdicts),
    notes: acl === undefined ? [] : [acl.markdown],
    elapsedSeconds: (Date.now() - startedMs) / 1000,
  };
  if (options.docs) {
    const path = join(REPO_ROOT, 'docs', 'benchmarks.md');
    writeSection(path, renderSection(run));
    log(`\nwrote ${path}`);
  }
  if (options.json !== undefined) {
    const raw = Object.fromEntries([...results].map(([id, r]) => [id, r.runs]));
    // Everything but the logger and the (already removed) temporary directory.
    const params = Object.fromEntries(
      Object.entries(opts).filter(([k]) => !['log', 'stateDir', 'appDir'].includes(k)),
    );
    writeFileSync(
      options.json,
      JSON.stringify({ ...run, opts: params, facts: Object.fromEntries(facts), raw }, null, 2),
    );
    log(`wrote ${options.json}`);
  }
  return 0;
};

/** Issue 5's target: the ACL check costs under 5 % of a KV read (server CPU per request). */
const ACL_MAX_SHARE = 0.05;

/**
 * @param {{ microsPerCheck: number, loadMs: number, iterations: number }} cost
 * @param {{ cpuPer1kSeconds: number }} kvRead  the kv-read row
 */
const aclVerdict = (cost, kvRead) => {
  const kvMicros = kvRead.cpuPer1kSeconds * 1000;
  const share = cost.microsPerCheck / kvMicros;
  const result = share < ACL_MAX_SHARE ? 'PASS' : 'FAIL';
  const measured =
    `ACL check ${cost.microsPerCheck.toFixed(2)} µs (in-process, ${cost.iterations} checks, ${KV_BENCH_POLICIES} policies loaded in ${Math.round(cost.loadMs)} ms) ` +
    `÷ KV read ${kvMicros.toFixed(0)} µs of server CPU = ${(share * 100).toFixed(2)} %, needs < ${ACL_MAX_SHARE * 100} %`;
  return {
    text: `target ${result.padEnd(4)}  issue 5: the ACL check costs under 5 % of a KV read with ${KV_BENCH_POLICIES} policies: ${measured}`,
    markdown: `- **${result}** — issue 5: the ACL check costs under 5 % of a KV read with ${KV_BENCH_POLICIES} policies loaded: ${measured} (\`loadtest/bench/acl-cost.mjs\`).`,
  };
};

/** The bench's temporary directory, removed on every way out. */
let benchDir;

// Last resort: whatever happens, no child outlives the bench.
process.on('exit', () => {
  killAllNow();
  if (benchDir !== undefined) rmSync(benchDir, { recursive: true, force: true });
});
let interrupted = false;
for (const { signal, code } of [
  { signal: 'SIGINT', code: 130 },
  { signal: 'SIGTERM', code: 143 },
]) {
  process.on(signal, () => {
    // A second signal does not wait for the children's graceful stop.
    if (interrupted) process.exit(code);
    interrupted = true;
    log(`\nbench: ${signal}, stopping`);
    void stopAll(STOP_ON_SIGNAL_GRACE_MS).finally(() => process.exit(code));
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    log(`\nbench FAILED: ${err instanceof Error ? err.message : String(err)}`);
    killAllNow();
    process.exitCode = 1;
  },
);

// Resident memory of one authgate process after N distinct logins (issue 3: the in-process
// caches must be bounded). Starts a private redis-server, `authgate dev` as the simulated cluster
// only, and a separate `authgate server` on the Redis store whose mount reviews tokens against
// that cluster; mints N distinct pod tokens with `authgate dev tokens`, logs each in once on the
// server (autocannon), and reads the server's VmRSS from /proc. Usage (after npm run build):
//   node loadtest/memory/rss-after-logins.mjs [N=100000] [mount=kubernetes]
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import autocannon from 'autocannon';

const N = Number(process.argv[2] ?? 100000);
const MOUNT = process.argv[3] ?? 'kubernetes';
const dir = mkdtempSync(join(tmpdir(), 'authgate-rss-'));
const children = [];
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const start = (cmd, args, env, ready) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

try {
  const port = await freePort();
  await start(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    {},
    /Ready to accept/,
  );
  const env = { AUTHGATE_DEV_STATE: join(dir, 'dev.json'), AUTHGATE_LOG_LEVEL: 'warn' };
  await start(process.execPath, ['bin/authgate.js', 'dev', '--port', '0'], env, /Gateway:\s+(\S+)/);
  const state = JSON.parse(readFileSync(env.AUTHGATE_DEV_STATE, 'utf8'));
  // The simulator lets its admin bearer create TokenReviews: it stands in for the reviewer token.
  writeFileSync(join(dir, 'reviewer'), state.clusterAdminToken);
  writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'));
  const role = {
    bound_service_account_names: ['app-*'],
    bound_service_account_namespaces: ['load-*'],
    audience: 'vault',
  };
  writeFileSync(
    join(dir, 'authgate.yaml'),
    JSON.stringify({
      listener: { port: 0 },
      log: { level: 'warn' },
      store: { type: 'redis', redis: { url: `redis://127.0.0.1:${port}` } },
      server_key_file: join(dir, 'server.key'),
      auth: {
        kubernetes: {
          type: 'kubernetes',
          kubernetes_host: state.clusterUrl,
          token_reviewer_jwt_file: join(dir, 'reviewer'),
          verification: 'tokenreview',
          roles: { load: role },
        },
        'kubernetes-jwks': {
          type: 'kubernetes',
          kubernetes_host: state.clusterUrl,
          verification: 'jwks',
          jwks: { oidc_discovery_url: state.clusterUrl },
          issuers: ['https://kubernetes.default.svc.cluster.local'],
          roles: { load: role },
        },
      },
    }),
  );
  const { child: dev, match } = await start(
    process.execPath,
    ['bin/authgate.js', 'server', '--config', join(dir, 'authgate.yaml')],
    { AUTHGATE_LOG_LEVEL: 'info' },
    /"event":"server\.listening","address":"(http[^"]+)"/,
  );
  const gateway = match[1];
  const rssStart = rssMiB(dev.pid);
  const t0 = Date.now();
  execFileSync(
    process.execPath,
    [
      'bin/authgate.js',
      'dev',
      'tokens',
      '--count',
      String(N),
      '--namespaces',
      '50',
      '--out',
      join(dir, 't.json'),
    ],
    {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    },
  );
  const tokens = JSON.parse(readFileSync(join(dir, 't.json'), 'utf8'));
  console.error(
    `minted ${tokens.length} tokens in ${Date.now() - t0} ms; RSS ${rssMiB(dev.pid).toFixed(0)} MiB`,
  );
  const bodies = tokens.map((t) => JSON.stringify({ role: t.role, jwt: t.token }));
  let i = 0;
  const result = await autocannon({
    url: gateway,
    connections: 50,
    amount: bodies.length,
    requests: [
      {
        method: 'POST',
        path: `/v1/auth/${MOUNT}/login`,
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }),
      },
    ],
  });
  const ok = result['2xx'];
  await sleep(2000);
  const rssEnd = rssMiB(dev.pid);
  console.log(
    JSON.stringify({
      logins: N,
      mount: MOUNT,
      ok,
      non2xx: result.non2xx,
      errors: result.errors,
      reqPerSec: result.requests.average,
      rssStartMiB: Math.round(rssStart),
      rssAfterMiB: Math.round(rssEnd),
    }),
  );
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

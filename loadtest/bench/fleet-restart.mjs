/**
 * The fleet restart (the k6 script fleet-restart.js): `opts.fleetPods` pods, each logging in once
 * with its own new token on the TokenReview mount, the logins arriving evenly over
 * `opts.fleetWindowSeconds` (pace.mjs) — a node pool replaced, a cluster-wide rollout. TokenReview
 * is the realistic mode here: a restarted fleet meets cold caches.
 */
import { loginBody } from './cluster.mjs';
import { TOKENREVIEW_LOGIN, freshTokens, gatewayFixture, gatewayWithTokens } from './fixtures.mjs';

/**
 * `authgate dev` with the fleet's pods created; each run (one by default) mints one new token per
 * pod right before it.
 *
 * @param {import('./fixtures.mjs').BenchOptions} opts
 * @returns {Promise<import('./fixtures.mjs').Fixture>}
 */
export const setupFleetRestart = async (opts) => {
  const gateway = await gatewayWithTokens(opts, 0);
  const { cluster } = gateway;
  let pods;
  try {
    const started = Date.now();
    pods = await cluster.createPods('fleet', opts.fleetPods, 16);
    opts.log(`  created ${pods.length} pods in ${Date.now() - started} ms`);
  } catch (err) {
    await gateway.dev.stop();
    throw err;
  }
  const rate = opts.fleetPods / opts.fleetWindowSeconds;
  const warmup = Math.min(opts.coldWarmupTokens, opts.fleetPods);
  const margin = { margin: opts.fleetConnections };
  return {
    ...gatewayFixture(gateway, TOKENREVIEW_LOGIN),
    plan: async (phase) => {
      // The warm-up takes the same path (new tokens, unpaced) so that the run meets warm code;
      // the run gives each pod of the fleet exactly one new token.
      const amount = phase === 'warmup' ? warmup : opts.fleetPods;
      const bodies = (await freshTokens(opts, cluster, pods, amount, margin)).map((jwt) => loginBody(jwt));
      return phase === 'warmup'
        ? { bodies, amount, connections: opts.connections }
        : { bodies, amount, ratePerSecond: rate, connections: opts.fleetConnections };
    },
    facts: {
      tokens: `${opts.fleetPods} pods, one new token each, arriving evenly over ${opts.fleetWindowSeconds} s (${Math.round(rate)} logins/s) on up to ${opts.fleetConnections} connections; a ${warmup}-login warm-up with other new tokens first`,
    },
  };
};

/**
 * The mixed-validity load (the k6 script mixed-validity.js): logins with tokens never seen before,
 * a share of them bad (bad-tokens.mjs), each bad one expected to be answered 403 — and, as its
 * follow-up, the bad ones alone, for what a refusal costs.
 */
import {
  BAD_KINDS,
  OTHER_AUDIENCE,
  buildMix,
  countKinds,
  createForeignSigner,
  mixLayout,
} from './bad-tokens.mjs';
import { loginBody, postJson } from './cluster.mjs';
import { JWKS_LOGIN, gatewayFixture, gatewayWithTokens } from './fixtures.mjs';

/**
 * `authgate dev` and loads of `opts.mixedTokens` logins on the JWKS mount, `opts.badShare` of them
 * bad, with fresh tokens for every run; every kind is checked to answer as expected first. The
 * follow-up (any id) sends half as many logins, all bad.
 *
 * @param {import('./fixtures.mjs').BenchOptions} opts
 * @returns {Promise<import('./fixtures.mjs').Fixture>}
 */
export const setupMixedValidity = async (opts) => {
  const gateway = await gatewayWithTokens(opts, 0);
  const { cluster, pods, dev } = gateway;
  const signer = createForeignSigner();
  /** `total` login bodies, `badShare` of them bad, every token fresh, and their statuses. */
  const mix = async (total, badShare) => {
    const layout = mixLayout(total, badShare);
    const n = countKinds(layout);
    const started = Date.now();
    const fresh = (count, audience) =>
      cluster.mintTokens({ count, pods, ...(audience === undefined ? {} : { audience }) });
    const jwts = buildMix(layout, {
      valid: await fresh(n.valid),
      spare: await fresh(n.tampered + n['unknown-key']),
      otherAudience: await fresh(n['wrong-audience'], OTHER_AUDIENCE),
      signer,
    });
    opts.log(
      `  ${total} fresh login bodies (${n.valid} valid, ${total - n.valid} bad) in ${Date.now() - started} ms`,
    );
    return {
      bodies: jwts.map((jwt) => loginBody(jwt)),
      statuses: layout.map((kind) => (kind === 'valid' ? 200 : 403)),
    };
  };
  /** @param {number} amount  @param {number} badShare */
  const mixed = async (amount, badShare) => ({
    ...(await mix(amount + opts.connections, badShare)),
    amount,
  });
  try {
    // Every kind is answered as it should be before anything is measured.
    const probe = await mix(2 * BAD_KINDS.length, 0.5);
    for (const [i, body] of probe.bodies.entries()) {
      await postJson(`${dev.gatewayUrl}${JWKS_LOGIN}`, body, probe.statuses[i]);
    }
  } catch (err) {
    await dev.stop();
    throw err;
  }
  const denials = Math.max(opts.connections, Math.round(opts.mixedTokens / 2));
  return {
    ...gatewayFixture(gateway, JWKS_LOGIN),
    plan: (phase) => mixed(phase === 'warmup' ? opts.mixedWarmupTokens : opts.mixedTokens, opts.badShare),
    facts: {
      tokens: `${opts.mixedTokens} logins per run, ${Math.round(opts.badShare * 100)} % of them bad (${BAD_KINDS.join(', ')} in turn), every token never seen before and minted (or forged) right before the run`,
    },
    followUp: () => ({
      facts: {
        tokens: `${denials} bad logins per run, the four kinds in turn, every token never seen before`,
      },
      plan: () => mixed(denials, 1),
    }),
  };
};

import { createPublicKey } from 'node:crypto';
import { redactUrl, type JwtMountConfig, type JwtRoleConfig } from '../config/index.js';
import { tokenFieldsOf } from './mount-read.js';

/**
 * What `GET auth/<mount>/role/<name>` answers for a role of a jwt mount, as Vault's JWT plugin
 * (`pathRoleRead`): its bindings, claim settings and `token_*` fields. The leeways are as set, in
 * seconds, as Vault echoes them: 0 for one left out (the default applies), -1 for none. The OIDC
 * fields (`allowed_redirect_uris`, `oidc_scopes`, …) are empty: authgate serves no OIDC flow.
 */
export const jwtRoleReadData = (role: JwtRoleConfig): Record<string, unknown> => ({
  ...tokenFieldsOf(role),
  role_type: role.roleType,
  bound_audiences: [...role.boundAudiences],
  bound_subject: role.boundSubject ?? '',
  bound_claims_type: role.boundClaimsType,
  bound_claims: Object.keys(role.boundClaims).length === 0 ? null : { ...role.boundClaims },
  claim_mappings: Object.keys(role.claimMappings).length === 0 ? null : { ...role.claimMappings },
  user_claim: role.userClaim,
  user_claim_json_pointer: role.userClaimJsonPointer,
  groups_claim: '',
  oidc_scopes: [],
  allowed_redirect_uris: [],
  verbose_oidc_logging: false,
  max_age: 0,
  clock_skew_leeway: role.leewaysAsSet.clockSkew,
  expiration_leeway: role.leewaysAsSet.expiration,
  not_before_leeway: role.leewaysAsSet.notBefore,
});

/**
 * What `GET auth/<mount>/config` answers for a jwt mount, as Vault's JWT plugin
 * (`pathConfigRead`): the key source (a URL's user and password shown as `***`; given keys as PEM,
 * public), its CA, the issuer, the algorithms as set (none listed: all ten accepted) and the default
 * role. No OIDC client is configured.
 */
export const jwtConfigReadData = (mount: JwtMountConfig): Record<string, unknown> => {
  const source = mount.keys.source;
  const ca = mount.keys.caCert ?? '';
  return {
    oidc_discovery_url: source.kind === 'oidc-discovery' ? redactUrl(source.url) : '',
    oidc_discovery_ca_pem: source.kind === 'oidc-discovery' ? ca : '',
    oidc_client_id: '',
    oidc_response_mode: '',
    oidc_response_types: [],
    jwks_url: source.kind === 'url' ? redactUrl(source.url) : '',
    jwks_ca_pem: source.kind === 'url' ? ca : '',
    jwt_validation_pubkeys:
      source.kind === 'keys'
        ? source.keys.map((jwk) =>
            createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }),
          )
        : [],
    jwt_supported_algs: [...mount.allowedAlgorithmsAsSet],
    bound_issuer: mount.boundIssuer ?? '',
    default_role: mount.defaultRole ?? '',
    provider_config: {},
    namespace_in_state: false,
  };
};

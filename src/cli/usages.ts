import type { CommandUsage } from './command.js';
import { MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS } from '../devcluster/token-request.js';

/*
 * What each command prints for --help, in a module of its own: `authgate --help` lists them all,
 * and importing the commands' modules for it would load the whole gateway (fastify, the
 * Kubernetes client, OpenTelemetry: about a second).
 */

export const SERVER_USAGE: CommandUsage = {
  synopsis: 'authgate server [--config FILE]',
  summary: 'run the gateway (config from --config or AUTHGATE_CONFIG)',
  details: `Options:
  -c, --config FILE   the authgate.yaml to run (default: AUTHGATE_CONFIG); see docs/configuration.md

Runs until SIGTERM or SIGINT, then drains the requests in flight and exits 0 (1 when some are
still running after 10 s). A configuration mistake exits 78, listing every problem.
`,
};

export const DEV_USAGE: CommandUsage = {
  synopsis:
    'authgate dev [--port N] [--address A] [--cluster-port N] [--cluster-process] [--redis URL] [--audit-file PATH] [--metrics on|off] [--policy-dir DIR] [--tokenreview-prefilter]',
  summary: 'run a simulated cluster and the gateway, ready to log in (not for production)',
  details: `Options:
  --port N            the gateway's port, 0 to 65535 (default 8200; 0: any free port)
  --address A         the address it listens on, an IP address or a host name (default 127.0.0.1)
  --cluster-port N    the simulated API server's port (default 0: any free port)
  --cluster-process   run the simulated API server in a process of its own, as a real one is
                      (its CPU is then not the gateway's: for load tests)
  --redis URL         keep tokens in this Redis (redis:// or rediss://) instead of in memory
  --audit-file PATH   audit to this file (a file device named "file")
  --metrics on|off    serve /metrics (default on)
  --policy-dir DIR    also load the policy files of this directory
  --tokenreview-prefilter
                      check a token's signature against the cluster's keys before the
                      TokenReview of auth/kubernetes: a forged one costs no review (default off)
`,
};

const TTL_HELP = `--ttl SECONDS      the lifetime, ${MIN_TOKEN_SECONDS} to ${MAX_TOKEN_SECONDS} (default 7200)`;

export const DEV_TOKEN_USAGE: CommandUsage = {
  synopsis:
    'authgate dev token [--namespace NS] [--service-account SA] [--audience A] [--ttl SECONDS] [--pod NAME]',
  summary: 'mint a token from the running dev cluster',
  details: `Options (the namespace and service account are created if need be):
  --namespace NS     default test
  --service-account SA
                     default nginx
  --audience A       default vault
  ${TTL_HELP}
  --pod NAME         bind the token to this pod, created if need be (default: no pod)
`,
};

export const DEV_TOKENS_USAGE: CommandUsage = {
  synopsis: 'authgate dev tokens [--count N] [--namespaces K] [--audience A] [--ttl SECONDS] [--out FILE]',
  summary: 'N distinct pod tokens over K namespaces, for load tests (authgate dev running)',
  details: `Options:
  --count N          how many tokens, one pod each (default 1000)
  --namespaces K     spread over namespaces load-0 … load-<K-1>, service accounts app-* (default 10)
  --audience A       the tokens' audience (default vault)
  ${TTL_HELP}
  --out FILE         where to write them, a JSON array (default tokens.json); checked before any is minted
`,
};

export const AGENT_USAGE: CommandUsage = {
  synopsis:
    'authgate agent --role R --sink FILE [--address URL] [--mount M] [--jwt-file FILE] [--sink-mode MODE] [--ca-cert FILE] [--timeout S] [--exit-after-auth] [--revoke-on-exit]',
  summary: "the sidecar: keep a client token from the pod's projected token in a file",
  details: `Options:
  --role R           the role to log in with (required)
  --sink FILE        write the client token to FILE (required; repeat for more files). Written
                     whole beside it and renamed over it: a reader never sees half a token
  --address URL      authgate's address (default: VAULT_ADDR, else http://127.0.0.1:8200)
  --mount M          the auth mount (default kubernetes; auth/kubernetes, as Vault Agent's
                     mount_path, is the same)
  --jwt-file FILE    the projected service-account token, re-read at every login (default
                     /var/run/secrets/kubernetes.io/serviceaccount/token)
  --sink-mode MODE   the sink files' mode, octal (default 0640)
  --ca-cert FILE     PEM CA bundle for an https address (default: VAULT_CACERT, else the system's)
  --timeout S        timeout of one call to authgate, seconds (default 10)
  --exit-after-auth  exit 0 once the first token is written (an init container)
  --revoke-on-exit   revoke the token on SIGTERM/SIGINT (the pod is going away)

Renews the token at two thirds of its lease and logs in again when it cannot be renewed any
further, was revoked, is a batch token, or its renewals went unanswered until the last tenth of
its lease; a failed login is tried again after 1 s, 2 s, 4 s … (at most 5 min), and a sink that
cannot be written likewise, with the same token. Runs until SIGTERM or SIGINT, then exits 0. Logs JSON lines (agent.*), never
a token. AUTHGATE_LOG_LEVEL sets the level.
`,
};

export const TOKEN_USAGE: CommandUsage = {
  synopsis:
    'authgate token lookup|revoke|revoke-identity [--accessor A] [TARGET] [--address URL] [--token-file FILE] [--ca-cert FILE] [--timeout S] [--json]',
  summary: 'look up or revoke tokens on a running authgate, by accessor or by identity',
  details: `Commands:
  lookup [--accessor A]      the token of the accessor, or the caller's own (JSON, never the token)
  revoke --accessor A        revoke the token of the accessor
  revoke-identity TARGET     revoke every token of a workload, and drop its cached verifications:
    --namespace NS --service-account SA   a service account
    --pod-uid UID                         a pod
    --mount M --role R                    a role of an auth mount

Options:
  --address URL      authgate's address (default: VAULT_ADDR, else http://127.0.0.1:8200)
  --token-file FILE  the token to act with, the admin token or one whose policies allow it
                     (default: VAULT_TOKEN)
  --ca-cert FILE     PEM CA bundle for an https address (default: VAULT_CACERT, else the system's)
  --timeout S        timeout of the call, seconds (default 10)
  --json             print the answer's data as JSON (revoke, revoke-identity)

Exit codes: 0 done, 1 refused (the status and Vault's message are printed) or unreachable, 2 a
usage mistake.
`,
};

export const VERSION_USAGE: CommandUsage = {
  synopsis: 'authgate version',
  summary: 'print the version',
};

/** The usage of `authgate audit`, also printed by `authgate --help`. */
export const AUDIT_USAGE = `Usage:
  authgate audit query   SOURCE [FILTERS] [--limit N] [--json]
  authgate audit tail    SOURCE [FILTERS] [-n N] [-f] [--json]
  authgate audit summary SOURCE [FILTERS] [--top N] [--json]     (default --since 24h)
  authgate audit hash    --device NAME [--address URL] [--token-file FILE] < value

SOURCE:  --file PATH                      a file device's file
         --redis URL [--key-prefix ag:] [--device redis]
                                          a redis device's stream; a URL without a
                                          password takes REDISCLI_AUTH's, as redis-cli
FILTERS: --since T --until T              RFC 3339 times, or durations back from now (1h, 30m, 2d)
         --namespace NS --service-account SA --role R --mount M
         --outcome ok|denied|error --reason REASON
         --hmac hmac-sha256:…             the login whose jwt, token or accessor has this HMAC
`;

/*
 * How to reach Redis, one type for the two parts that speak of it: config/ fills it from
 * `store.redis` (its `RedisConfig`: secrets read from their files, timeouts set) and store/
 * connects with it. It lives in lib/ because neither part may import the other (DESIGN.md), and
 * both may import lib/. A new connection setting is declared here, once, for both.
 */

/** A Redis server or sentinel: a host name or IP, and a TCP port. */
export type RedisHostPort = { host: string; port: number };

/** How to reach Redis. Exactly one of `url`, `sentinels` or `clusterNodes` decides the mode. */
export type RedisConnectionOptions = {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS). Standalone mode. */
  url?: string;
  /** Sentinel mode: the sentinels and the monitored master's name (default `mymaster`). */
  sentinels?: RedisHostPort[];
  sentinelName?: string;
  /**
   * Sentinel mode: what the sentinels themselves ask for (their `requirepass`, an ACL user);
   * `username`/`password` are the master's.
   */
  sentinelUsername?: string;
  sentinelPassword?: string;
  /** Cluster mode: seed nodes. */
  clusterNodes?: RedisHostPort[];
  /** ACL user and password (override the URL's). */
  username?: string;
  password?: string;
  /** TLS: a CA bundle and optional client certificate (PEM). `url` with `rediss://` turns TLS on too. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** A command that has not answered by then fails (→ 503). Default 1 000 ms. */
  commandTimeoutMs?: number;
  /** Connection attempt timeout. Default 2 000 ms. */
  connectTimeoutMs?: number;
};

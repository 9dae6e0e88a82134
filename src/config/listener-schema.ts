import Type from 'typebox';
import { Count, Duration, StringList } from './schema-parts.js';

/** `listener`: where and how authgate serves HTTP; load.ts normalizes it. */
export const ListenerSchema = Type.Object(
  {
    /** An IP address (v4, v6) or a host name: what `listen` binds to. */
    address: Type.Optional(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9._:%-]+$' })),
    port: Type.Optional(Count(0, 65535)),
    tls_cert_file: Type.Optional(Type.String({ minLength: 1 })),
    tls_key_file: Type.Optional(Type.String({ minLength: 1 })),
    /** Largest accepted request body. Default 1 MiB − 1 (Vault allows 32 MiB; logins are ~1 KB). */
    max_request_bytes: Type.Optional(Count(1024)),
    /** Time a client has to send its whole request (head and body). Default 30s. */
    request_timeout: Type.Optional(Duration),
    /** Trust X-Forwarded-For from these proxies (CIDRs). Default: none. */
    trusted_proxies: Type.Optional(StringList),
    /** Logins per client address (Vault's rate limit quota, 429). Default: none. */
    login_rate_limit: Type.Optional(
      Type.Object(
        {
          /** Logins allowed per `interval`, and at once after a quiet interval. */
          rate: Count(1),
          /** Default 1s. */
          interval: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

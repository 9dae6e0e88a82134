# syntax=docker/dockerfile:1
#
# authgate's image: built in one stage with the full toolchain, run from a slim Node.js LTS with
# only the production dependencies, the compiled dist/ and the launcher, as a non-root user,
# on a root filesystem that can be mounted read-only (nothing is written outside /tmp).
#
#   docker build -t authgate:dev .
#   docker run --rm -p 8200:8200 --read-only --tmpfs /tmp authgate:dev dev --address 0.0.0.0
#   docker run --rm -p 8200:8200 --read-only --tmpfs /tmp \
#     -v "$PWD/authgate.yaml:/etc/authgate/authgate.yaml:ro" authgate:dev
#
# Pin the base images by digest in your registry's build (NODE_IMAGE=node:24-bookworm@sha256:…).
ARG NODE_IMAGE=node:24-bookworm
ARG NODE_RUNTIME_IMAGE=node:24-bookworm-slim

# ---- build: all dependencies, compile TypeScript, then drop the dev dependencies -------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused until the lock file changes. --ignore-scripts skips
# `prepare` (the sources are not here yet); the build runs below.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && find dist -name "*.map" -delete

# ---- runtime ------------------------------------------------------------------------------
FROM ${NODE_RUNTIME_IMAGE} AS runtime
ENV NODE_ENV=production
# A numeric user of its own, so that `runAsNonRoot` can verify it without /etc/passwd; the
# application files stay owned by root and read-only for it.
RUN groupadd --system --gid 10001 authgate \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin authgate \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
USER 10001:10001
EXPOSE 8200
# Liveness: 200 while the process serves HTTP. Behind TLS, or on another port, set
# AUTHGATE_HEALTHCHECK_URL (or rely on the orchestrator's probes: Kubernetes ignores this).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.AUTHGATE_HEALTHCHECK_URL || 'http://127.0.0.1:8200/v1/sys/health/live', { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/authgate.js"]
CMD ["server", "--config", "/etc/authgate/authgate.yaml"]

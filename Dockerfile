# syntax=docker/dockerfile:1

# One image for every Smart Steps process: the API by default, workers by overriding the command
# (`node dist/workers/session-worker.js`, ...). See docker-compose.yml.

# bookworm (glibc), not alpine: @temporalio/core-bridge ships glibc-only prebuilt binaries.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts needed: the native packages (core-bridge, swc, esbuild) ship prebuilt binaries.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
# Persona definitions are data read at run time (dist/personas/registry.js looks in /app/personas);
# bin/ gives operators the CLI: `docker compose exec api node bin/smart-steps.js ...`.
COPY personas ./personas
COPY bin ./bin
# Files stay root-owned and read-only to the process.
USER node
EXPOSE 8543
CMD ["node", "dist/api/server.js"]

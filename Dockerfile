# The GraphQL API. Built and run by docker-compose.yml; configuration comes from the environment.
#
# Two stages: `build` installs every dependency and compiles; the runtime stage gets the compiled
# code and the production dependencies only, owned by root and read-only to the service's user
# (`node`, uid 1000), which writes nothing but DATA_DIR (/data, a volume).
# Node.js 24 is the current LTS line (Node 20 reached its end of life in April 2026).

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY projections ./projections
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY docker/start.sh docker/healthcheck.mjs ./docker/
# The code stays root's (the service cannot change it); the data directory is the service's.
RUN chmod -R a-w /app \
 && mkdir -p /data \
 && chown node:node /data \
 && chmod 0700 /data
VOLUME ["/data"]
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 CMD ["node", "/app/docker/healthcheck.mjs"]
ENTRYPOINT ["/app/docker/start.sh"]

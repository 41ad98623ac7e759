# order-store: the API and/or workers (ROLE) against the EventStoreDB named by
# ESDB_CONNECTION_STRING, or the embedded store in /app/data. Compiled once (tsc to dist/) in the
# build stage; the image runs plain JavaScript on a maintained Node line, with production
# dependencies only (no TypeScript, no tsx).
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 (the embedded store) normally downloads a prebuilt binary; the toolchain is the
# fallback when none matches the platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY projections ./projections
# npm ci runs `prepare`, which builds dist/; then the dev dependencies go.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/data
# glibc's mmap threshold fixed at its default (128 KiB), as npm start sets it: freed blocks above
# it go back to the OS instead of the threshold growing and the arenas keeping them (#11).
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# Every role answers /ready on PORT (ROLE=workers too): 200 once the event store answers.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form: node is PID 1 and gets docker stop's SIGTERM itself; it stops within
# SHUTDOWN_GRACE_MS (default 8 s, below docker's 10 s stop timeout).
CMD ["node", "bin/orders.js", "serve"]

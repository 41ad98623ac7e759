# order-store: the API (and workers) against the EventStoreDB named by ESDB_CONNECTION_STRING.
# Runs the TypeScript sources through tsx (a runtime dependency), as `npm start` does.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 (the embedded store) normally downloads a prebuilt binary; the toolchain is the
# fallback when none matches the platform.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY projections ./projections
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/orders.js", "serve"]

# Image for docker-compose.yml: Node 20 with nats-server from Debian's packages.
FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nats-server && rm -rf /var/lib/apt/lists/*
ENV PATH="$PATH:/usr/sbin"
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY . .
RUN npm ci --no-audit --no-fund
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["up"]

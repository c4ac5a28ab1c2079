# syntax=docker/dockerfile:1
# The local stand-ins (dev OpenID Provider and demo API) for docker compose. Not for production:
# real deployments already have a provider and APIs.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY shared ./shared
COPY dev ./dev
USER node
CMD ["npx", "tsx", "dev/idp/main.ts"]

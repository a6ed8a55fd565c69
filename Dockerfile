# The GraphQL API. Built and run by docker-compose.yml; configuration comes from the environment.
FROM node:20-slim

WORKDIR /app

# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci

COPY . .
RUN npm run build && npm prune --omit=dev

ENV NODE_ENV=production
USER node
EXPOSE 4000
CMD ["node", "dist/src/index.js"]

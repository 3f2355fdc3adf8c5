FROM oven/bun:1
WORKDIR /app
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production
COPY app ./app
COPY src ./src
COPY plugins ./plugins
COPY public ./public
ENV NODE_ENV=production PORT=3000
# The image's unprivileged user: the API needs no root and should not have it.
USER bun
EXPOSE 3000
CMD ["bun", "run", "app/server.ts"]

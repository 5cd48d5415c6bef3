# syntax=docker/dockerfile:1
# The gateway as an image, for docker-compose.yml (or `docker build -t polyglot-gateway .`).
# The build context is the repository, filtered by .dockerignore (no .venv, .services, tests, node_modules).

# GraphiQL's assets come from npm at build time, pinned by package-lock.json, and are served from the gateway's
# own origin (no CDN).
FROM node:20-slim AS graphiql-assets
WORKDIR /assets
COPY deploy/graphiql/package.json deploy/graphiql/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app
COPY . .
# A regular (non-editable) install: the packages listed in pyproject's [tool.setuptools.packages.find], the
# `gateway` command, and the dependencies (wheels exist for amd64 and arm64, so no compiler is needed).
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info
COPY --from=graphiql-assets /assets/node_modules /app/deploy/graphiql/node_modules
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin gateway
USER gateway
# Listen on every interface of the container (the default, 127.0.0.1, would be unreachable from outside it), and
# find the assets and the persisted-operation manifests where they were copied (the defaults are relative to the
# source tree, not site-packages).
ENV GATEWAY_HOST=0.0.0.0 \
    GATEWAY_GRAPHIQL_ASSETS_DIR=/app/deploy/graphiql/node_modules \
    GATEWAY_PERSISTED_DIR=/app/deploy/persisted
EXPOSE 8000
CMD ["gateway", "serve"]

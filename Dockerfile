# ArxOS image: PostgreSQL 15 with the arxos extension, and the arxos binary. The entrypoint is
# scripts/start.sh, the same start-up `make run` uses (private cluster in $ARXOS_DIR, database
# arxos, extension, sample building, development key, `arxos serve`).
FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-server-dev-15 \
        libclang-dev clang pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-pgrx --version 0.18.1 --locked \
 && cargo pgrx init --pg15 /usr/lib/postgresql/15/bin/pg_config
WORKDIR /src
COPY . .
RUN cd arxos_pg && cargo pgrx package --pg-config /usr/lib/postgresql/15/bin/pg_config \
 && cd .. && cargo build --release -p arxos_http

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 postgresql-contrib ca-certificates python3 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/arxos-pg15/usr/ /usr/
COPY --from=build /src/target/release/arxos /usr/local/bin/arxos
COPY scripts/ /opt/arxos/scripts/
ENV ARXOS_DIR=/var/lib/arxos ARXOS_HTTP_ADDR=0.0.0.0:3000 ARXOS_BIN=/usr/local/bin/arxos
VOLUME /var/lib/arxos
EXPOSE 3000
# Docker's health status follows the server's readiness (docs/operations.md, "Health endpoints"),
# on the port of ARXOS_HTTP_ADDR; python3 is in the image already (no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python3", "-c", "import os, urllib.request; port = os.environ.get('ARXOS_HTTP_ADDR', '0.0.0.0:3000').rsplit(':', 1)[1]; urllib.request.urlopen('http://127.0.0.1:' + port + '/api/health/ready', timeout=4)"]
ENTRYPOINT ["bash", "/opt/arxos/scripts/start.sh"]

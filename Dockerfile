# Vigil's production image: the server binary and the built web frontend. It expects an
# external PostgreSQL/TimescaleDB through DATABASE_URL (see docker-compose.yml).

FROM rust:1-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Queries are checked against the committed .sqlx/ data: no database is needed to build.
# build-web installs plotly.js, esbuild and binaryen (wasm-opt) from the npm registry.
RUN cargo xtask build-web \
 && cargo build --release --package vigil \
 && strip target/release/vigil

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/vigil --create-home vigil
COPY --from=build /src/target/release/vigil /usr/local/bin/vigil
COPY --from=build /src/frontend/dist /usr/share/vigil/web
USER vigil
WORKDIR /var/lib/vigil
ENV VIGIL_LISTEN=0.0.0.0:8080 \
    VIGIL_WEB_DIR=/usr/share/vigil/web \
    VIGIL_DATA_DIR=/var/lib/vigil \
    VIGIL_LOG_FORMAT=json
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["vigil"]
CMD ["serve"]

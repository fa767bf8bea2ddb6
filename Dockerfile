# syntax=docker/dockerfile:1
# The smpp-router image: smpp-router, plus smpp-sim and smpp-bench (the simulated carriers and
# the traffic of docker-compose.yml). Built from this repository:
#
#   docker build -t smpp-router:local .
#   docker run --rm -p 127.0.0.1:2775:2775 -p 127.0.0.1:9775:9775 smpp-router:local

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The workspace: every member's manifest must be present for cargo to load it.
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY benches benches
COPY tests tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p smpp-router -p smpp-tools \
        --bin smpp-router --bin smpp-sim --bin smpp-bench \
    && mkdir -p /out \
    && cp target/release/smpp-router target/release/smpp-sim target/release/smpp-bench /out/

FROM debian:bookworm-slim
# ca-certificates: TLS connectors verify carriers against the system trust store by default.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/smpp-router --shell /usr/sbin/nologin smpp \
    && mkdir -p /var/lib/smpp-router \
    && chown smpp:smpp /var/lib/smpp-router
COPY --from=build /out/smpp-router /out/smpp-sim /out/smpp-bench /usr/local/bin/
COPY deploy/router.toml /etc/smpp-router/router.toml
USER smpp
WORKDIR /var/lib/smpp-router
VOLUME ["/var/lib/smpp-router"]
# SMPP (customers) and metrics/admin HTTP.
EXPOSE 2775 9775
CMD ["smpp-router", "--config", "/etc/smpp-router/router.toml"]

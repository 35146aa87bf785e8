# Multi-stage build: compile in the Rust image, run on slim Debian.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin arkiter-lever

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 arkiter
COPY --from=build /src/target/release/arkiter-lever /usr/local/bin/arkiter-lever
USER arkiter
EXPOSE 8080
ENTRYPOINT ["arkiter-lever"]
CMD ["serve"]

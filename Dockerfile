# A small image of the latchkey binary: built in the Rust image, run on
# distroless (glibc, no shell, non-root). TLS roots are compiled in (rustls
# with webpki roots), templates and migrations too, so the binary is all.
#
#   docker build -t latchkey .
#   docker run -p 9881:9881 -v latchkey:/data latchkey
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p latchkey \
 && strip target/release/latchkey

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/latchkey /usr/local/bin/latchkey
VOLUME /data
EXPOSE 9881
USER nonroot
ENTRYPOINT ["/usr/local/bin/latchkey"]
# SQLite in the volume by default; for several nodes pass
# --database-url postgres://… (or LATCHKEY_DATABASE_URL) and the shared settings.
CMD ["serve", "--listen", "0.0.0.0:9881", "--database-url", "sqlite:///data/latchkey.db"]

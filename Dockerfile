# syntax=docker/dockerfile:1

# Latchkey: one static binary plus the web/ assets, on a non-root distroless
# base. Build with `docker build -t latchkey .`; configure at run time with
# the environment variables the README lists.

# ---- build ------------------------------------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first, so editing the sources does not download them again.
COPY go.mod go.sum ./
RUN go mod download

COPY . .

# The wasm UI, then its brotli and gzip variants at the highest levels (the
# server checks them at start and would otherwise compress at lower ones).
# The flags are the Makefile's WASMFLAGS (go-app and app/ui without
# inlining, for the download's size).
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=js GOARCH=wasm go build -trimpath -ldflags="-s -w" \
        -gcflags=github.com/maxence-charriere/go-app/v10/...=-l -gcflags=github.com/latchkey/latchkey/app/ui=-l \
        -o web/app.wasm ./app/cmd/wasm && \
    go run ./server/cmd/precompress web/app.wasm

# The server: pure Go (SQLite is modernc.org/sqlite), so it needs no libc.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/latchkey ./server/cmd/latchkey

# The distroless image has no shell to make directories with; this one becomes
# /data, owned by the nonroot user (65532) so the embedded SQLite file can be
# written there.
RUN mkdir -p /out/data

# ---- run --------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot

WORKDIR /app
COPY --from=build /out/latchkey /app/latchkey
# app.wasm, app.wasm.br, app.wasm.gz, app.css and the icons.
COPY --from=build /src/web /app/web
COPY --from=build --chown=65532:65532 /out/data /data

# Without DATABASE_URL the server keeps a SQLite file in DATA_DIR; mount a
# volume there to keep it. With DATABASE_URL=postgres://… nothing is written.
ENV DATA_DIR=/data \
    WEB_DIR=/app/web \
    LISTEN_ADDR=:8080
VOLUME /data

USER nonroot:nonroot
EXPOSE 8080

# The image has no shell or curl, so the binary checks its own /healthz.
# Orchestrators should also poll GET /readyz (503 while the database or Redis
# cannot be reached) to decide where traffic goes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/app/latchkey", "healthcheck"]

# SIGTERM drains in-flight requests for up to SHUTDOWN_TIMEOUT (15s), then exits.
ENTRYPOINT ["/app/latchkey"]

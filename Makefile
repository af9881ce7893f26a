# Latchkey. `make run` and `make test` are all a newcomer needs; see README.md.
GO        ?= go
WASM      := web/app.wasm
BIN       := bin/latchkey
# -race needs cgo; where there is no C compiler the tests run without it.
RACE      := $(shell $(GO) env CGO_ENABLED | grep -q 1 && command -v $$($(GO) env CC) >/dev/null && echo -race)
TESTFLAGS ?=

.PHONY: run test test-wasm build wasm lint staticcheck bench loadtest fuzz clean

run: wasm
	$(GO) run ./server/cmd/latchkey

test: wasm lint test-wasm
	$(GO) test $(RACE) -count=1 $(TESTFLAGS) ./...

# Code that only builds for the browser (syscall/js) runs under Node with
# Go's own wasm runner. Without Node it is skipped, except in CI.
WASM_EXEC := $(shell $(GO) env GOROOT)/lib/wasm/go_js_wasm_exec
test-wasm:
	@if command -v node >/dev/null; then \
		GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASM_EXEC)" $(TESTFLAGS) ./app/jsutil ./app/credentials; \
	elif [ "$$CI" = true ]; then echo "CI=true and node is missing: cannot run the wasm tests"; exit 1; \
	else echo "skipping the wasm tests under Node: node is not installed"; fi

build: wasm
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(BIN) ./server/cmd/latchkey

# The wasm is rebuilt only when Go sources change; precompress writes the
# brotli and gzip files the server sends (level 11 brotli takes ~15 s).
# go-app and the pages (app/ui) are compiled without inlining (-l): that
# takes about 22 KB off the brotli-compressed wasm (15 KB for go-app, 7 KB
# for app/ui; its budget is in app/cmd/wasm/deps_test.go) and costs nothing
# a person could notice: mounting and rendering the account page goes from
# ~95 to ~105 µs. The runtime and the standard library keep inlining
# (without it everywhere, that render is 40% slower). The Dockerfile builds
# with the same flags.
WASMFLAGS := -trimpath -ldflags="-s -w" \
	-gcflags=github.com/maxence-charriere/go-app/v10/...=-l -gcflags=github.com/latchkey/latchkey/app/ui=-l
wasm: $(WASM)

$(WASM): go.mod go.sum $(shell find app shared -name '*.go' -not -name '*_test.go')
	GOOS=js GOARCH=wasm $(GO) build $(WASMFLAGS) -o $(WASM) ./app/cmd/wasm
	$(GO) run ./server/cmd/precompress $(WASM)

lint:
	@out=$$(gofmt -l app server shared); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./app/... ./shared/...

# 100 iterations: the ceremony benchmarks report the median and p95 of them.
BENCHTIME ?= 100x
# Deeper static analysis, pinned; not part of `make test` so that a machine
# with only Go and the module proxy needs nothing more.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck:
	GOBIN=$(CURDIR)/bin $(GO) install $(STATICCHECK)
	bin/staticcheck ./...
	GOOS=js GOARCH=wasm bin/staticcheck ./app/...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

# Ceremonies per second on each deployment: servers of its own on 127.0.0.1
# (SQLite + in-process, then Postgres + Redis when reachable), with rate
# limits off and raised, at concurrency 1, 8 and 32; one table on stdout.
# A few minutes; never part of make test. Flags: LOADTESTFLAGS='-d 10s'.
LOADTESTFLAGS ?=
loadtest:
	$(GO) run ./server/cmd/loadtest -local $(LOADTESTFLAGS)

# Every fuzz target under server/ and shared/, found by name, one after
# another: go test -fuzz takes one target per run. New inputs go to Go's
# cache; a failing one is written to the package's testdata/fuzz, where it
# becomes a seed that go test (and make test) runs from then on.
# New inputs that widen coverage are minimised first, for up to 60s each by
# default, which would eat a 30s run of the slower targets.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 5s
fuzz:
	@targets=$$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' server shared | \
		sed -E 's#^(.*)/[^/]+:func (Fuzz.*)#./\1 \2#' | sort -u); \
	[ -n "$$targets" ] || { echo "no fuzz targets found"; exit 1; }; \
	failed=; set -- $$targets; while [ $$# -gt 0 ]; do \
		pkg=$$1 name=$$2; shift 2; \
		echo "== $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) $$pkg || failed="$$failed $$name"; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz targets that failed:$$failed"; exit 1; }

clean:
	rm -rf bin $(WASM) $(WASM).br $(WASM).gz

# citybrain — the two commands a newcomer needs are `make demo` and `make test`.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.Version=$(VERSION)

.PHONY: demo test build web bench clean

## demo: build the web assets and run the synthetic demo district on embedded storage
demo: web
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/citybrain demo --data ./citybrain-demo

## test: the whole suite (installs test packages, starts PostgreSQL/NATS when needed)
test:
	scripts/test.sh

## build: the binary in bin/
build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/citybrain ./cmd/citybrain

## web: vendor the UI's npm packages into the embedded assets when they are missing
web:
	scripts/web.sh

## bench: the Go benchmarks whose figures are in docs/performance.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

clean:
	rm -rf bin citybrain-data citybrain-demo artifacts

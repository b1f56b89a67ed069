#!/usr/bin/env bash
# The whole test suite: installs what the tests need on a fresh machine, starts the services
# they use when they are not running, then runs formatting, vet, staticcheck, the architecture
# checks and every Go test, on SQLite and on PostgreSQL and external NATS.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"

log() { printf '\n== %s\n' "$*"; }

log "test dependencies"
scripts/test-deps.sh

log "services"
# PostgreSQL: start the installed cluster if it is not accepting connections.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
fi
if command -v pg_isready >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q; then
  export CITYBRAIN_TEST_POSTGRES="${CITYBRAIN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
  echo "PostgreSQL: $CITYBRAIN_TEST_POSTGRES"
else
  echo "PostgreSQL: not available; PostgreSQL conformance runs will be skipped" >&2
  if [ "${CI:-}" = "true" ]; then echo "CI requires PostgreSQL" >&2; exit 1; fi
fi
# NATS with JetStream for the external-bus tests.
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if ! nats_up && command -v nats-server >/dev/null 2>&1; then
  mkdir -p /tmp/citybrain-nats
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/citybrain-nats >/tmp/citybrain-nats.log 2>&1 &
  for _ in $(seq 1 20); do nats_up && break; sleep 0.5; done
fi
if nats_up; then
  export CITYBRAIN_TEST_NATS="${CITYBRAIN_TEST_NATS:-nats://127.0.0.1:4222}"
  echo "NATS: $CITYBRAIN_TEST_NATS"
else
  echo "NATS: no external server; external-bus tests will be skipped" >&2
fi

log "web assets"
make -s web

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './web/node_modules/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

log "go vet"
go vet ./...

log "staticcheck"
if ! command -v staticcheck >/dev/null 2>&1; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
staticcheck ./...

log "go test"
mkdir -p artifacts
go test -count=1 -timeout 40m ./... 2>&1 | tee artifacts/go-test.log
test "${PIPESTATUS[0]}" -eq 0

# deskcrm: `make run` runs the product on its embedded default; `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin

.PHONY: run test test-faults test-deps build devserver clean bench-initial bench-incremental bench-clients vet

build: $(BIN)/temporal-dev
	$(GO) build -o $(BIN)/worker ./worker
	$(GO) build -o $(BIN)/starter ./starter
	$(GO) build -o $(BIN)/emulator ./emulator

# The embedded Temporal dev server is its own module (it pins older Temporal API packages);
# it is built once and reused.
$(BIN)/temporal-dev: $(wildcard devserver/*.go) devserver/go.mod devserver/go.sum
	cd devserver && $(GO) build -o ../$(BIN)/temporal-dev .

devserver: $(BIN)/temporal-dev

run: build
	./scripts/run.sh

# The packages whose tests need no server (pure rules, clients and emulators over httptest):
# they also run under the race detector.
UNIT := ./mapping/... ./reconcile/... ./zoho/... ./config/... ./logging/... ./emulator/... ./internal/crmspec/...

# Every test in the repo, integration tests included (they start Postgres and the dev server),
# then the unit packages again under -race.
test: $(BIN)/temporal-dev test-deps
	DESKCRM_TEMPORAL_DEV=$(CURDIR)/$(BIN)/temporal-dev $(GO) test -count=1 -timeout 20m ./...
	cd devserver && $(GO) test -count=1 -timeout 10m ./...
	$(GO) test -race -count=1 -timeout 10m $(UNIT)

# The fault matrix (e2e/faults_*_test.go) with its few-thousand-records-per-side variants too:
# make test runs only the small ones. Each fault gets a world of its own; allow half an hour.
test-faults: $(BIN)/temporal-dev
	DESKCRM_FAULTS=big DESKCRM_TEMPORAL_DEV=$(CURDIR)/$(BIN)/temporal-dev $(GO) test -count=1 -timeout 90m -run '^TestFaults' ./e2e/

# Node.js and Zoho's official CRM Node SDK (pinned) for the SDK conformance test; a no-op when
# they are installed. Not root and something missing: it prints the command to run.
test-deps:
	./scripts/test-deps.sh

# go vet and staticcheck (pinned in go.mod as a tool).
vet:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	cd devserver && $(GO) vet ./...

bench-initial: build
	$(GO) run ./bench/initial

bench-incremental: build
	$(GO) run ./bench/incremental

bench-clients:
	$(GO) test -run '^$$' -bench . -benchmem ./zoho/...

clean:
	rm -rf .data $(BIN)

# deskcrm: `make run` runs the product on its embedded default; `make test` runs every test.
# Both start with scripts/setup.sh, which installs what is missing beyond Go (as root with
# apt-get; otherwise it prints the command to run).
SHELL := /bin/bash
GO ?= go
BIN := bin

.PHONY: run test test-faults setup build devserver clean bench-initial bench-incremental bench-scale bench-clients vet fuzz

build: $(BIN)/temporal-dev
	$(GO) build -o $(BIN)/worker ./worker
	$(GO) build -o $(BIN)/starter ./starter
	$(GO) build -o $(BIN)/emulator ./emulator

# The embedded Temporal dev server is its own module (it pins older Temporal API packages);
# it is built once and reused.
$(BIN)/temporal-dev: $(wildcard devserver/*.go) devserver/go.mod devserver/go.sum
	cd devserver && $(GO) build -o ../$(BIN)/temporal-dev .

devserver: $(BIN)/temporal-dev

# Set-up first (PostgreSQL, CA certificates for the module proxy), then the build, then the run.
run:
	./scripts/setup.sh run
	$(MAKE) --no-print-directory build
	./scripts/run.sh

# The packages whose tests need no server (pure rules, clients and emulators over httptest):
# they also run under the race detector.
UNIT := ./mapping/... ./reconcile/... ./zoho/... ./config/... ./logging/... ./emulator/... ./internal/crmspec/...

# Every test in the repo, integration tests included (they start Postgres and the dev server),
# then the unit packages again under -race. The set-up installs what the tests need beyond Go
# (PostgreSQL, Chromium, gcc for -race, Node.js and the pinned CRM Node SDK); a plain
# `go test ./...` also works once it has run (the tests build bin/temporal-dev themselves).
test:
	./scripts/setup.sh test
	$(MAKE) --no-print-directory $(BIN)/temporal-dev
	DESKCRM_TEMPORAL_DEV=$(CURDIR)/$(BIN)/temporal-dev $(GO) test -count=1 -timeout 20m ./...
	cd devserver && $(GO) test -count=1 -timeout 10m ./...
	$(GO) test -race -count=1 -timeout 10m $(UNIT)

# Everything both need; a no-op when it is all installed.
setup:
	./scripts/setup.sh all

# Every fuzz target of every package, FUZZTIME each (not part of `make test`; the inputs that
# once failed, kept under testdata/fuzz/, are replayed by `make test`).
FUZZTIME ?= 30s
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

# The fault matrix (e2e/faults_*_test.go) with its few-thousand-records-per-side variants too:
# make test runs only the small ones. Each fault gets a world of its own; allow half an hour.
test-faults: $(BIN)/temporal-dev
	DESKCRM_FAULTS=big DESKCRM_TEMPORAL_DEV=$(CURDIR)/$(BIN)/temporal-dev $(GO) test -count=1 -timeout 90m -run '^TestFaults' ./e2e/

# go vet and staticcheck (pinned in go.mod as a tool).
vet:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	cd devserver && $(GO) vet ./...

bench-initial: build
	$(GO) run ./bench/initial

bench-incremental: build
	$(GO) run ./bench/incremental

# The first sync at 100k and 1M contacts per side (plus a tenth as accounts), Enterprise
# limits, no added latency: the machine is measured. 100k runs twice before and twice after 1M, and its
# growth is taken from their mean. Postgres maps its buffers in huge pages (as root the run
# grows vm.nr_hugepages and restores it). About 20 minutes on 2 cores; not part of make test.
SIZES ?= 100000,100000,1000000,100000,100000
bench-scale: build
	$(GO) run ./bench/scale -sizes $(SIZES)

bench-clients:
	$(GO) test -run '^$$' -bench . -benchmem ./zoho/...

# A new demo world: removes the Temporal history, the Postgres cluster and the emulators'
# snapshot (all under .data/), and the binaries.
clean:
	rm -rf .data $(BIN)

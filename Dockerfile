# iambind image: the KRM function as the entrypoint (so `kpt fn render` / kustomize
# can use `image: ghcr.io/iambind/iambind:v0.1.0`) and the `iambind` CLI for the
# in-cluster reconcile Job (deploy/ runs `command: [/iambind]`).
# deploy/deploy_test.go runs the two `go build` lines below verbatim (no Docker
# engine in CI) and checks the binaries are static and run as 65532 with a
# read-only filesystem: keep them on one line each.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/iambind-fn ./fn
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/iambind ./cmd/iambind

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/iambind-fn /iambind-fn
COPY --from=build /out/iambind /iambind
USER 65532:65532
ENTRYPOINT ["/iambind-fn"]

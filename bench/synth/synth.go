// Package synth builds deterministic synthetic KRM input for iambind's
// benchmarks: a ResourceList of n resources in which one in ten is an
// IdentityBinding and the rest look like an ordinary application package.
//
// The same builder feeds the `go test -bench` benchmarks of the generator and
// the whole-process comparison of `make bench` (bench/gen), so both measure
// the same input.
package synth

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// ClusterName is the IdentityCluster every synthetic binding uses.
const ClusterName = "bench-usw2"

// Namespaces is how many namespaces the blocks are spread over.
const Namespaces = 20

// Shape describes what ResourceList(n) contains, for reports.
func Shape(n int) string {
	return fmt.Sprintf("%d resources: 1 IdentityCluster, %d IdentityBindings (2 ServiceAccounts, 1 managed + 1 inline policy each), %d existing ServiceAccounts, %d Deployments, %d Services, %d ConfigMaps",
		n, n/10, n/10, 3*n/10, 2*n/10, 3*n/10-1)
}

// Options vary the synthetic input.
type Options struct {
	// Inject turns spec.inject on in every binding and runs every Deployment
	// as a bound ServiceAccount (<app>-cron as <app>-worker), so every
	// workload gets the token volume and AWS env (docs/injection.md).
	Inject bool
	// TwoInline gives every binding a second inline policy (SQS, with a
	// condition), so the policy lint has two documents a role to check.
	TwoInline bool
	// PodIdentity puts every binding in mode podIdentity (the cluster gets
	// eksClusterName), so with Inject every workload gets EKS Pod Identity's
	// token volume and container-credentials env.
	PodIdentity bool
}

// ResourceList returns the synthetic input as ResourceList YAML.
func ResourceList(n int) []byte {
	return ResourceListWith(n, Options{})
}

// ResourceListWith is ResourceList with options.
func ResourceListWith(n int, opts Options) []byte {
	var buf bytes.Buffer
	if err := WriteWith(&buf, n, opts); err != nil {
		panic(err) // only n is checked, and bytes.Buffer does not fail
	}
	return buf.Bytes()
}

// Stream returns the same objects as ResourceListWith as a plain
// multi-document YAML stream, what `kustomize build` or `helm template`
// hands iambind-fn in stream mode.
func Stream(n int, opts Options) []byte {
	return []byte(strings.Join(Documents(ResourceListWith(n, opts)), "---\n"))
}

// Documents turns a ResourceList written by Write (items as "- " blocks
// indented two spaces) into plain YAML documents.
func Documents(rl []byte) []string {
	_, items, ok := strings.Cut(string(rl), "\nitems:\n")
	if !ok {
		panic("synth: the ResourceList has no items")
	}
	var docs []string
	for _, item := range strings.Split(items, "\n- ") {
		item = strings.TrimPrefix(item, "- ")
		var b strings.Builder
		for i, line := range strings.Split(strings.TrimRight(item, "\n"), "\n") {
			if i > 0 {
				line = strings.TrimPrefix(line, "  ")
			}
			b.WriteString(line + "\n")
		}
		docs = append(docs, b.String())
	}
	return docs
}

// Write writes a ResourceList of exactly n items (n a positive multiple of
// 10) with n/10 IdentityBindings. Each block of ten items is one workload:
//
//	1 IdentityBinding   serviceAccounts [<app>, <app>-worker], 1 managed and 1 inline policy
//	1 ServiceAccount    <app>, as a Helm chart would ship it (annotated in place)
//	3 Deployments       <app>, <app>-worker, <app>-cron
//	2 Services          <app>, <app>-metrics
//	3 ConfigMaps        <app>-config, <app>-env, <app>-extra
//
// so <app>-worker is a ServiceAccount the function creates. The first block's
// <app>-extra ConfigMap is replaced by the IdentityCluster, keeping the count
// at n. There is no functionConfig (kpt fn render mode).
func Write(w io.Writer, n int) error { return WriteWith(w, n, Options{}) }

// WriteWith is Write with options.
func WriteWith(w io.Writer, n int, opts Options) error {
	if n <= 0 || n%10 != 0 {
		return fmt.Errorf("synth: resource count %d must be a positive multiple of 10", n)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	fmt.Fprint(bw, "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	cluster := fmt.Sprintf(clusterTmpl, ClusterName)
	if opts.PodIdentity {
		cluster = strings.Replace(cluster, "    rolePath: /iambind/\n", "    rolePath: /iambind/\n    eksClusterName: bench\n", 1)
	}
	bw.WriteString(cluster)
	for b := 0; b < n/10; b++ {
		a := block{App: fmt.Sprintf("svc-%05d", b), NS: fmt.Sprintf("team-%02d", b%Namespaces), Cluster: ClusterName}
		binding := fmt.Sprintf(bindingTmpl, a.App, a.NS, a.Cluster, a.App, a.App, a.App, a.App)
		if opts.Inject {
			binding = strings.Replace(binding, "  spec:\n", "  spec:\n    inject: true\n", 1)
		}
		if opts.TwoInline {
			binding += fmt.Sprintf(secondInlineTmpl, a.App, a.App, a.NS)
		}
		if opts.PodIdentity {
			binding = strings.Replace(binding, "  spec:\n", "  spec:\n    mode: podIdentity\n", 1)
		}
		bw.WriteString(binding)
		fmt.Fprintf(bw, serviceAccountTmpl, a.App, a.NS, a.App)
		for _, d := range []string{a.App, a.App + "-worker", a.App + "-cron"} {
			sa := d
			if opts.Inject && d == a.App+"-cron" {
				sa = a.App + "-worker"
			}
			fmt.Fprintf(bw, deploymentTmpl, d, a.NS, d, d, d, sa, d, a.App, a.App)
		}
		for _, s := range []string{a.App, a.App + "-metrics"} {
			fmt.Fprintf(bw, serviceTmpl, s, a.NS, s, a.App)
		}
		cms := []string{a.App + "-config", a.App + "-env", a.App + "-extra"}
		if b == 0 {
			cms = cms[:2] // the IdentityCluster took this slot
		}
		for _, c := range cms {
			fmt.Fprintf(bw, configMapTmpl, c, a.NS, a.App, a.App, a.NS)
		}
	}
	return bw.Flush()
}

type block struct{ App, NS, Cluster string }

const clusterTmpl = `- apiVersion: iambind.dev/v1alpha1
  kind: IdentityCluster
  metadata:
    name: %s
    annotations:
      config.kubernetes.io/local-config: "true"
  spec:
    accountID: "111122223333"
    region: us-west-2
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
    rolePath: /iambind/
    roleNamePrefix: bench-
    tags:
      cost-center: platform
`

const bindingTmpl = `- apiVersion: iambind.dev/v1alpha1
  kind: IdentityBinding
  metadata:
    name: %s
    namespace: %s
  spec:
    clusters: [%s]
    serviceAccounts:
      - name: %s
      - name: %s-worker
    role:
      maxSessionDuration: 7200
    policies:
      managed:
        - AmazonS3ReadOnlyAccess
      inline:
        %s-bucket:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: ["s3:GetObject", "s3:PutObject"]
              Resource: arn:aws:s3:::%s-bucket/*
`

// secondInlineTmpl continues bindingTmpl's spec.policies.inline.
const secondInlineTmpl = `        %s-queue:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]
              Resource: arn:aws:sqs:us-west-2:111122223333:%s-queue
              Condition:
                StringEquals:
                  aws:PrincipalTag/team: %s
`

const serviceAccountTmpl = `- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: %s
    namespace: %s
    labels:
      app.kubernetes.io/name: %s
      helm.sh/chart: app-1.4.2
`

const deploymentTmpl = `- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: %s
    namespace: %s
    labels:
      app.kubernetes.io/name: %s
      app.kubernetes.io/part-of: shop
  spec:
    replicas: 3
    selector:
      matchLabels:
        app.kubernetes.io/name: %s
    template:
      metadata:
        labels:
          app.kubernetes.io/name: %s
      spec:
        serviceAccountName: %s
        containers:
          - name: app
            image: registry.example.com/shop/%s:1.27.3
            args: ["--listen=:8080", "--metrics=:9090"]
            ports:
              - name: http
                containerPort: 8080
              - name: metrics
                containerPort: 9090
            env:
              - name: BUCKET
                value: %s-bucket
              - name: LOG_LEVEL
                value: info
              - name: CONFIG
                valueFrom:
                  configMapKeyRef:
                    name: %s-config
                    key: config.yaml
            resources:
              requests: {cpu: 100m, memory: 128Mi}
              limits: {memory: 256Mi}
            readinessProbe:
              httpGet: {path: /healthz, port: http}
              periodSeconds: 10
`

const serviceTmpl = `- apiVersion: v1
  kind: Service
  metadata:
    name: %s
    namespace: %s
    labels:
      app.kubernetes.io/name: %s
  spec:
    selector:
      app.kubernetes.io/name: %s
    ports:
      - name: http
        port: 80
        targetPort: 8080
`

const configMapTmpl = `- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: %s
    namespace: %s
    labels:
      app.kubernetes.io/name: %s
  data:
    config.yaml: |
      service: %s
      namespace: %s
      retries: 3
      timeout: 5s
`

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/iambind/iambind/importer"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/kube"
)

func newImportCommand(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var opts importer.Options
	var names []string
	var endpoint, eksEndpoint, kubeconfig, output string
	cmd := &cobra.Command{
		Use:   "import --out DIR [-f FILE|DIR|-]... [--from-cluster] [--eks-cluster-name IDENTITYCLUSTER=NAME]...",
		Short: "Write IdentityCluster and IdentityBinding files that render to the IAM roles an estate already has",
		Example: `  iambind import --from-cluster --out imported/            # annotated ServiceAccounts, WorkloadIdentity and IRSA objects
  iambind import -f rendered/ --eks-cluster-name prod=prod-eks --out imported/
  kustomize build --enable-alpha-plugins --enable-exec imported/ > rendered.yaml
  iambind apply --adopt -f rendered.yaml                    # tags, plus the trust of tightened roles`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output %q: must be text or json", output)
			}
			opts.EKSClusterNames = map[string]string{}
			for _, n := range names {
				k, v, ok := strings.Cut(n, "=")
				if !ok || k == "" || v == "" {
					return fmt.Errorf("--eks-cluster-name %q must be IDENTITYCLUSTER=EKS_CLUSTER_NAME", n)
				}
				opts.EKSClusterNames[k] = v
			}
			if opts.FunctionPath == "" {
				opts.FunctionPath = defaultFunctionPath()
			}
			ctx := cmd.Context()
			cfg, err := awsapi.LoadConfig(ctx)
			if err != nil {
				return err
			}
			clients := awsapi.NewClientsFromConfig(cfg, awsapi.ClientOptions{EndpointURL: endpoint})
			id, err := clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				return fmt.Errorf("who am I (sts GetCallerIdentity): %w", err)
			}
			deps := importer.Deps{IAM: clients.IAM, Calls: clients.Calls, Account: aws.ToString(id.Account), Partition: "aws", EKSRegion: cfg.Region}
			if p := strings.SplitN(aws.ToString(id.Arn), ":", 3); len(p) == 3 {
				deps.Partition = p[1]
			}
			if len(opts.EKSClusterNames) > 0 {
				if eksEndpoint == "" {
					eksEndpoint = endpoint
				}
				deps.EKS, _ = awsapi.NewEKS(cfg, eksEndpoint)
			}
			if opts.FromCluster {
				rc, err := kube.Config(kubeconfig)
				if err != nil {
					return err
				}
				if deps.Kube, err = dynamic.NewForConfig(rc); err != nil {
					return err
				}
			}
			rep, err := importer.Run(ctx, opts, deps, stdin)
			if err != nil {
				return err
			}
			if output == "json" {
				return rep.WriteJSON(stdout)
			}
			rep.WriteText(stdout)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "directory to write the IdentityCluster and IdentityBinding files to (required; must be empty unless --force)")
	fl.BoolVar(&opts.Force, "force", false, "replace the contents of a non-empty --out")
	fl.StringArrayVarP(&opts.Files, "filename", "f", nil, "manifests to read ServiceAccounts, WorkloadIdentity and IRSA objects and pods from: a file, a directory (recursive *.yaml, *.yml, *.json) or - for stdin; repeatable")
	fl.BoolVar(&opts.FromCluster, "from-cluster", false, "read ServiceAccounts, pods, namespaces, WorkloadIdentity and IRSA objects from the Kubernetes cluster (kubeconfig or in-cluster)")
	fl.StringVar(&kubeconfig, "kubeconfig", "", "with --from-cluster: kubeconfig file (default $KUBECONFIG, then ~/.kube/config)")
	fl.StringVar(&opts.Namespace, "namespace", "", "with --from-cluster: only this namespace (default: all namespaces)")
	fl.StringArrayVar(&names, "eks-cluster-name", nil, "import the EKS Pod Identity associations of an EKS cluster, as IdentityCluster IDENTITYCLUSTER: IDENTITYCLUSTER=NAME; repeatable")
	fl.StringVarP(&output, "output", "o", "text", "output format: text or json")
	fl.StringVar(&endpoint, "endpoint-url", "", "IAM/STS endpoint override, e.g. a local emulator (AWS_ENDPOINT_URL works too)")
	fl.StringVar(&eksEndpoint, "eks-endpoint-url", "", "EKS endpoint override (default: --endpoint-url; AWS_ENDPOINT_URL_EKS works too)")
	fl.StringVar(&opts.FunctionPath, "fn-path", "", "path of iambind-fn written into clusters.yaml's function annotation (default: the iambind-fn beside this binary, else on PATH)")
	fl.IntVar(&opts.Concurrency, "concurrency", 8, "how many roles are read in parallel")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// defaultFunctionPath is the absolute path of iambind-fn: beside this
// binary, else on PATH; kustomize resolves a relative exec path against the
// kustomization's directory, so a bare name would not be found.
func defaultFunctionPath() string {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "iambind-fn")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("iambind-fn"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return "iambind-fn"
}

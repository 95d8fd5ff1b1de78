package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/keygen"
)

func newKeygenCommand(stdout io.Writer) *cobra.Command {
	var o keygen.Options
	cmd := &cobra.Command{
		Use:   "keygen --out DIR [--bucket B --region R [--prefix P]] [--cluster NAME]",
		Short: "Write a ServiceAccount signing key pair for a self-hosted issuer and print the IdentityCluster and kube-apiserver flags",
		Long: `keygen writes DIR/sa-signer.key (the private key, mode 0600: it stays on the
control plane, never in Git) and DIR/sa-signer.pub (the public key, PEM), and prints
the IdentityCluster with the public key filled in and the kube-apiserver flags that
make the cluster sign its ServiceAccount tokens for the issuer iambind publishes.
It never overwrites an existing file.`,
		Example: `  iambind keygen --out /etc/kubernetes/pki/iambind --cluster lab \
      --bucket acme-oidc --region eu-west-1 --prefix clusters/lab
  iambind keygen --out keys --type ec`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return keygen.Run(o, stdout) },
	}
	cmd.Flags().StringVar(&o.Out, "out", "", "directory to write sa-signer.key and sa-signer.pub to (created if missing)")
	cmd.Flags().StringVar(&o.KeyType, "type", "rsa", "key type: rsa (2048-bit, RS256) or ec (P-256, ES256)")
	cmd.Flags().StringVar(&o.Cluster, "cluster", "my-cluster", "IdentityCluster name for the snippet")
	cmd.Flags().StringVar(&o.AccountID, "account-id", "111122223333", "AWS account ID for the snippet")
	cmd.Flags().StringVar(&o.Bucket, "bucket", "", "S3 bucket the issuer is published in")
	cmd.Flags().StringVar(&o.Region, "region", "", "the bucket's region")
	cmd.Flags().StringVar(&o.Prefix, "prefix", "", "key prefix in the bucket, without leading or trailing /")
	cmd.Flags().StringVar(&o.Issuer, "issuer", "", "issuer URL when it is not the bucket's own (a CDN in front of it)")
	return cmd
}

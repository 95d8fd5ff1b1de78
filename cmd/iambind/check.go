package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile"
	"github.com/iambind/iambind/reconcile/safety"
)

func newCheckCommand(stdin io.Reader, stdout io.Writer) *cobra.Command {
	var files []string
	var tok safety.Token
	var jwt, eksCluster string
	cmd := &cobra.Command{
		Use:   "check -f ... (--sub system:serviceaccount:NS:NAME (--issuer URL [--aud AUD] | --eks-cluster NAME) | --token JWT)",
		Short: "Which planned roles can this ServiceAccount assume (IRSA or EKS Pod Identity), and if not, why (exit 0 if any, 1 if none)",
		Example: `  iambind check -f rendered.yaml --sub system:serviceaccount:shop:orders \
      --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
  kubectl create token orders -n shop --audience sts.amazonaws.com > token
  iambind check -f rendered.yaml --token @token
  iambind check -f rendered.yaml --sub system:serviceaccount:shop:orders --eks-cluster prod   # EKS Pod Identity`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var admitted bool
			var err error
			switch {
			case eksCluster != "":
				if jwt != "" || tok.Issuer != "" {
					return errors.New("--eks-cluster checks EKS Pod Identity: give it with --sub only, not with --issuer or --token")
				}
				admitted, err = reconcile.CheckPodIdentity(files, tok.Sub, eksCluster, stdin, stdout)
			case jwt != "":
				admitted, err = reconcile.CheckToken(files, jwt, stdin, stdout)
			case tok.Sub == "" || tok.Issuer == "":
				return errors.New("give --sub and --issuer, or --token")
			default:
				admitted, err = reconcile.CheckWebIdentity(files, tok, stdin, stdout)
			}
			if err == nil && !admitted {
				return exitCode(exitError) // the verdicts say why
			}
			return err
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "rendered manifests: a file, a directory or - for stdin; repeatable")
	cmd.Flags().StringVar(&tok.Sub, "sub", "", "token subject, system:serviceaccount:NAMESPACE:NAME")
	cmd.Flags().StringVar(&tok.Issuer, "issuer", "", "token issuer URL, https://...")
	cmd.Flags().StringVar(&tok.Aud, "aud", generator.DefaultAudience, "token audience")
	cmd.Flags().StringVar(&eksCluster, "eks-cluster", "", "check EKS Pod Identity in this EKS cluster (its name or ARN) instead of a web-identity token")
	cmd.Flags().StringVar(&jwt, "token", "", "a ServiceAccount token (JWT, or @FILE): its iss, sub and aud claims are checked (the signature is IAM's to verify)")
	return cmd
}

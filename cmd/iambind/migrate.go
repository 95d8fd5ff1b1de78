package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/migrate"
)

func newMigrateCommand(stdout io.Writer) *cobra.Command {
	var files, names []string
	var write bool
	cmd := &cobra.Command{
		Use:   "migrate -f FILE|DIR ... [--eks-cluster-name IDENTITYCLUSTER=NAME]... [--write]",
		Short: "Print the edits that move IdentityBindings from irsa to podIdentity through both, in the safe order",
		Example: `  iambind migrate -f bindings/ --eks-cluster-name prod-usw2=prod      # print both steps as diffs
  iambind migrate -f bindings/ --eks-cluster-name prod-usw2=prod --write   # make the next step's edit`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			eksNames := map[string]string{}
			for _, n := range names {
				k, v, ok := strings.Cut(n, "=")
				if !ok || k == "" || v == "" {
					return fmt.Errorf("--eks-cluster-name %q must be IDENTITYCLUSTER=EKS_CLUSTER_NAME", n)
				}
				eksNames[k] = v
			}
			return migrate.Run(files, eksNames, write, stdout)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "binding sources (not rendered output): a file or a directory of *.yaml/*.yml; repeatable")
	cmd.Flags().StringArrayVar(&names, "eks-cluster-name", nil, "EKS cluster name of an IdentityCluster that has no spec.eksClusterName yet: IDENTITYCLUSTER=NAME; repeatable")
	cmd.Flags().BoolVar(&write, "write", false, "edit the files in place with the next step (instead of only printing)")
	return cmd
}

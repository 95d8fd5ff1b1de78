package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/reconcile"
)

func newApplyCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	cfg := reconcile.Config{Command: reconcile.CommandApply}
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|- ...",
		Short: "Make IAM match the plan",
		Example: `  iambind apply -f hydrated/ --prune
  kpt fn source pkg | iambind-fn | iambind apply -f -
  iambind apply --from-cluster --prune              # the in-cluster Job
  iambind apply --from-cluster --trusted-namespaces platform   # platform's plans may bind other namespaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Rerun = rerunCommand(cmd)
			return runReconcile(cmd.Context(), cfg, false, stdin, stdout, stderr)
		},
	}
	registerReconcileFlags(cmd, &cfg)
	return cmd
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile"
)

// Exit codes. They are decided here only: the packages below return errors
// and outcomes, and this file turns them into a process exit code.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan --detailed-exitcode: the plan has changes
	// exitInterrupted: SIGTERM or SIGINT stopped the run before it finished.
	exitInterrupted = 3
	// check: 0 when at least one role admits the subject, 1 otherwise.
)

// exitCode ends a command with a code and no message of its own (the
// command printed its verdict already).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit code %d", int(c)) }

// execute runs the command line and returns the process exit code.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	var code exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	case errors.Is(err, awsapi.ErrInterrupted) && awsapi.StopRequested(ctx):
		fmt.Fprintf(stderr, "iambind: %v\n", err)
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "iambind: %v\n", err)
		return exitError
	}
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "iambind",
		Short: "Make AWS IAM match the IAM plan rendered by iambind-fn",
		Example: `  kustomize build --enable-alpha-plugins --enable-exec overlays/prod > rendered.yaml
  iambind plan -f rendered.yaml --detailed-exitcode
  iambind apply -f rendered.yaml --prune`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newPlanCommand(stdin, stdout, stderr), newApplyCommand(stdin, stdout, stderr),
		newCheckCommand(stdin, stdout), newKeygenCommand(stdout), newMigrateCommand(stdout), newImportCommand(stdin, stdout), newVersionCommand(stdout))
	return root
}

// runReconcile runs plan or apply and turns its outcome into an error for
// execute: the plan's changes under --detailed-exitcode are exit code 2.
func runReconcile(ctx context.Context, cfg reconcile.Config, detailed bool, stdin io.Reader, stdout, stderr io.Writer) error {
	out, err := reconcile.Run(ctx, cfg, stdin, stdout, stderr)
	if err != nil {
		return err
	}
	if detailed && out.HasChanges {
		return exitCode(exitChanges)
	}
	return nil
}

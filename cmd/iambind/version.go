package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/iambind/iambind/internal/buildinfo"
)

func newVersionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		Example: "  iambind version",
		Args:    cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(stdout, "iambind %s\n", buildinfo.Get())
		},
	}
}

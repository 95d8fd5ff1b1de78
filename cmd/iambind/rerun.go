package main

import (
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// rerunCommand rebuilds the invocation from the flags the user set, so a
// failed apply can print the command that finishes the job. Input read
// from stdin cannot be replayed: the command says to pipe it again.
func rerunCommand(cmd *cobra.Command) string {
	parts := []string{"iambind", cmd.Name()}
	stdin := false
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				stdin = stdin || (fl.Name == "filename" && v == "-")
				parts = append(parts, flagName(fl), shellQuote(v))
			}
			return
		}
		if fl.Value.Type() == "bool" {
			if fl.Value.String() == "true" {
				parts = append(parts, "--"+fl.Name)
			} else {
				parts = append(parts, "--"+fl.Name+"=false")
			}
			return
		}
		parts = append(parts, flagName(fl), shellQuote(fl.Value.String()))
	})
	s := strings.Join(parts, " ")
	if stdin {
		s = "<the same rendered input> | " + s
	}
	return s
}

func flagName(fl *pflag.Flag) string {
	if fl.Shorthand != "" {
		return "-" + fl.Shorthand
	}
	return "--" + fl.Name
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=,@%+-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

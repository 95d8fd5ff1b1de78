// Command passthrough is the floor for any KRM function: it parses the
// ResourceList with the same SDK and the same entry point as iambind-fn
// (fn.Run over all of stdin), touches nothing, and writes it back.
// Whatever iambind-fn costs above this is iambind's own work.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "passthrough: reading stdin: %v\n", err)
		os.Exit(1)
	}
	out, err := fn.Run(fn.ResourceListProcessorFunc(func(*fn.ResourceList) (bool, error) { return true, nil }), in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "passthrough: %v\n", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintf(os.Stderr, "passthrough: writing stdout: %v\n", err)
		os.Exit(1)
	}
}

// Command gen writes the deterministic synthetic ResourceList of
// bench/synth to stdout: gen -n 10000 > in.yaml.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/iambind/iambind/bench/synth"
)

func main() {
	n := flag.Int("n", 10000, "number of resources (a multiple of 10; one in ten is an IdentityBinding)")
	flag.Parse()
	if err := synth.Write(os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

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
	inject := flag.Bool("inject", false, "turn spec.inject on in every binding and run every Deployment as a bound ServiceAccount")
	flag.Parse()
	if err := synth.WriteWith(os.Stdout, *n, synth.Options{Inject: *inject}); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

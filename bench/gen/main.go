// Command gen writes the deterministic synthetic ResourceList of
// bench/synth to stdout: gen -n 10000 > in.yaml; with -stream the same
// objects as a plain YAML stream, for iambind-fn's stream mode.
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
	twoInline := flag.Bool("two-inline", false, "give every binding a second inline policy (two documents a role for the policy lint)")
	stream := flag.Bool("stream", false, "write the objects as a plain multi-document YAML stream, not a ResourceList")
	podIdentity := flag.Bool("pod-identity", false, "every binding in mode podIdentity (with -inject: EKS Pod Identity injection)")
	flag.Parse()
	opts := synth.Options{Inject: *inject, TwoInline: *twoInline, PodIdentity: *podIdentity}
	if *stream {
		if *n <= 0 || *n%10 != 0 {
			fmt.Fprintf(os.Stderr, "gen: resource count %d must be a positive multiple of 10\n", *n)
			os.Exit(1)
		}
		if _, err := os.Stdout.Write(synth.Stream(*n, opts)); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		return
	}
	if err := synth.WriteWith(os.Stdout, *n, opts); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// Command iambind plans and applies the IAM side of the rendered plan:
// `iambind plan|apply|check|version` (see the reconcile package).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/iambind/iambind/internal/awsapi"
)

// stopGrace is how long the AWS calls in flight at the first SIGTERM or
// SIGINT may take to finish before they are abandoned. With the status
// writes of --from-cluster (reconcile.StopStatusTimeout) the process exits
// well within 30 s of the signal.
const stopGrace = 10 * time.Second

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the process: the command line under graceful stop. The first
// signal stops the run (no new AWS call starts, calls in flight get
// stopGrace), the second exits at once; either way the exit code is
// exitInterrupted.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	stop := awsapi.NewStop()
	ctx, cancel := context.WithCancel(awsapi.WithStop(context.Background(), stop))
	defer cancel()
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	go func() {
		sig, ok := <-signals
		if !ok {
			return
		}
		stop.Request()
		fmt.Fprintf(stderr, "iambind: interrupted by %s: starting no new AWS call, waiting at most %s for the calls in flight (a second signal exits at once)\n", sig, stopGrace)
		time.AfterFunc(stopGrace, cancel)
		if sig, ok := <-signals; ok {
			fmt.Fprintf(stderr, "iambind: interrupted again by %s: exiting now; run the same command again to finish\n", sig)
			os.Exit(exitInterrupted)
		}
	}()
	code := execute(ctx, args, stdin, stdout, stderr)
	if stop.Requested() {
		fmt.Fprintln(stderr, "iambind: interrupted: the run stopped before it finished; run the same command again to finish")
		return exitInterrupted
	}
	return code
}

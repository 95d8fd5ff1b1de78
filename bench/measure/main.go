// Command measure runs commands several times and reports the median
// whole-process wall time and peak resident set size (RSS) of each, with no
// dependency beyond the Go runtime (the peak RSS is the kernel's ru_maxrss of
// the waited-for child, as GNU time reports it).
//
//	measure [-runs 5] [-warmup 1] [-in FILE] -- NAME CMD [ARGS...] [:: NAME CMD [ARGS...]]...
//
// A command may be a pipeline: CMD ARGS... '|' CMD ARGS..., its stages
// started together and connected as a shell connects them, without a shell
// (whose own start-up, 10-20 ms on a small VM, would be charged to the
// pipeline and not to the command it is compared with). Its wall time runs
// until every stage has exited, its CPU is every stage's, its peak RSS the
// largest stage's, and a stage's non-zero exit fails it (pipefail).
//
// With several commands the runs are interleaved (a b a b ...), so a load
// change on a shared machine hits every command alike. Each run reads -in on
// stdin and writes stdout to /dev/null; a non-zero exit is an error. One line
// per command goes to stdout, tab-separated:
//
//	NAME  MEDIAN_WALL_S  MEDIAN_MAXRSS_KIB  MEDIAN_CPU_S  RUNS  ALL_WALLS  ALL_MAXRSS
//
// CPU is user+system time; on a loaded machine it is steadier than wall time.
// With several runs, the pairs of walls at the same position in ALL_WALLS
// are interleaved neighbours: their differences are steadier than the
// difference of the medians.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

type command struct {
	name string
	argv []string
	wall []float64 // seconds
	rss  []int64   // KiB
	cpu  []float64 // seconds, user+system
}

func main() {
	runs := flag.Int("runs", 5, "measured runs per command (the median is reported)")
	warmup := flag.Int("warmup", 1, "unmeasured runs per command first (page cache, CPU frequency)")
	in := flag.String("in", "", "file given to every run on stdin (default: /dev/null)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: measure [-runs N] [-warmup N] [-in FILE] -- NAME CMD [ARGS...] [:: NAME CMD [ARGS...]]...")
		flag.PrintDefaults()
	}
	flag.Parse()
	cmds, err := parseCommands(flag.Args())
	if err != nil || *runs < 1 {
		if err != nil {
			fmt.Fprintln(os.Stderr, "measure:", err)
		}
		flag.Usage()
		os.Exit(2)
	}
	for i := 0; i < *warmup+*runs; i++ {
		for _, c := range cmds {
			wall, rss, cpu, err := runOnce(c.argv, *in)
			if err != nil {
				fmt.Fprintf(os.Stderr, "measure: %s: %v\n", c.name, err)
				os.Exit(1)
			}
			if i >= *warmup {
				c.wall = append(c.wall, wall)
				c.rss = append(c.rss, rss)
				c.cpu = append(c.cpu, cpu)
			}
		}
	}
	for _, c := range cmds {
		walls := make([]string, len(c.wall))
		for i, w := range c.wall {
			walls[i] = fmt.Sprintf("%.3f", w)
		}
		rsss := make([]string, len(c.rss))
		for i, r := range c.rss {
			rsss[i] = fmt.Sprint(r)
		}
		fmt.Printf("%s\t%.3f\t%d\t%.3f\t%d\t%s\t%s\n", c.name, median(c.wall), median(c.rss), median(c.cpu), len(c.wall),
			strings.Join(walls, ","), strings.Join(rsss, ","))
	}
}

// parseCommands splits "NAME CMD ARGS... :: NAME CMD ARGS..." into commands.
func parseCommands(args []string) ([]*command, error) {
	var cmds []*command
	for len(args) > 0 {
		end := slices.Index(args, "::")
		if end < 0 {
			end = len(args)
		}
		part := args[:end]
		if len(part) < 2 {
			return nil, errors.New("each command needs a NAME and a program")
		}
		cmds = append(cmds, &command{name: part[0], argv: part[1:]})
		args = args[min(end+1, len(args)):]
	}
	if len(cmds) == 0 {
		return nil, errors.New("no command given")
	}
	return cmds, nil
}

func runOnce(argv []string, in string) (wall float64, maxRSSKiB int64, cpu float64, err error) {
	var stages []*exec.Cmd
	for _, stage := range splitPipeline(argv) {
		if len(stage) == 0 {
			return 0, 0, 0, errors.New("an empty stage in a pipeline")
		}
		cmd := exec.Command(stage[0], stage[1:]...)
		// Stdout left nil goes to /dev/null; stderr is kept for diagnosis.
		cmd.Stderr = os.Stderr
		stages = append(stages, cmd)
	}
	if in != "" {
		f, err := os.Open(in)
		if err != nil {
			return 0, 0, 0, err
		}
		defer f.Close()
		stages[0].Stdin = f
	}
	var parentEnds []*os.File // closed once the stages hold them
	defer func() {
		for _, f := range parentEnds {
			f.Close()
		}
	}()
	for i := 1; i < len(stages); i++ {
		r, w, err := os.Pipe()
		if err != nil {
			return 0, 0, 0, err
		}
		stages[i-1].Stdout, stages[i].Stdin = w, r
		parentEnds = append(parentEnds, r, w)
	}
	start := time.Now()
	for _, cmd := range stages {
		if err := cmd.Start(); err != nil {
			return 0, 0, 0, err
		}
	}
	// A reader sees the end of its input only when no process, this one
	// included, holds the pipe's write end.
	for _, f := range parentEnds {
		f.Close()
	}
	parentEnds = nil
	var failed error
	for _, cmd := range stages {
		if err := cmd.Wait(); err != nil && failed == nil {
			failed = fmt.Errorf("%s: %w", cmd.Path, err)
		}
	}
	wall = time.Since(start).Seconds()
	if failed != nil {
		return 0, 0, 0, failed
	}
	for _, cmd := range stages {
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			return 0, 0, 0, errors.New("no rusage on this platform")
		}
		cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
		maxRSSKiB = max(maxRSSKiB, ru.Maxrss) // Linux reports ru_maxrss in KiB
	}
	return wall, maxRSSKiB, cpu, nil
}

// splitPipeline cuts argv at each "|" into the stages of a pipeline.
func splitPipeline(argv []string) [][]string {
	var stages [][]string
	for {
		end := slices.Index(argv, "|")
		if end < 0 {
			return append(stages, argv)
		}
		stages = append(stages, argv[:end])
		argv = argv[end+1:]
	}
}

func median[T int64 | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

package main

import (
	"strings"
	"testing"
)

// A pipeline's stages are connected as a shell connects them, and the
// reader sees the end of its input when the writer exits.
func TestRunOncePipeline(t *testing.T) {
	argv := []string{"sh", "-c", "echo through", "|", "sh", "-c", `read line && test "$line" = through && ! read more`}
	if _, _, _, err := runOnce(argv, ""); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
}

// Any stage's failure fails the run (pipefail), the last stage's and an
// earlier one's alike.
func TestRunOncePipelineFails(t *testing.T) {
	for _, argv := range [][]string{
		{"true", "|", "false"},
		{"false", "|", "cat"},
		{"true", "|"},
	} {
		if _, _, _, err := runOnce(argv, ""); err == nil {
			t.Errorf("%s: no error", strings.Join(argv, " "))
		}
	}
}

// CPU is every stage's: two stages that each burn CPU count twice one.
func TestRunOncePipelineCPU(t *testing.T) {
	burn := []string{"sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"}
	_, _, one, err := runOnce(burn, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, two, err := runOnce(append(append(append([]string{}, burn...), "|"), burn...), "")
	if err != nil {
		t.Fatal(err)
	}
	if two < 1.5*one {
		t.Fatalf("CPU of two burning stages %.3f s, of one %.3f s: the second stage was not counted", two, one)
	}
}

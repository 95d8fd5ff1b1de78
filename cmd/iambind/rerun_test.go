package main

import (
	"testing"

	"github.com/spf13/cobra"
)

func TestRerunCommand(t *testing.T) {
	var files []string
	var prune bool
	var endpoint string
	cmd := &cobra.Command{Use: "apply", RunE: func(*cobra.Command, []string) error { return nil }}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "")
	cmd.Flags().BoolVar(&prune, "prune", false, "")
	cmd.Flags().StringVar(&endpoint, "endpoint-url", "", "")
	cmd.SetArgs([]string{"-f", "a b.yaml", "-f", "-", "--prune", "--endpoint-url", "http://127.0.0.1:5000"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "<the same rendered input> | iambind apply --endpoint-url http://127.0.0.1:5000 -f 'a b.yaml' -f - --prune"
	if got := rerunCommand(cmd); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

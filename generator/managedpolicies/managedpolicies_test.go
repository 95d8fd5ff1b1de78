package managedpolicies

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestKnownAndSuggest(t *testing.T) {
	for _, n := range []string{"AmazonS3ReadOnlyAccess", "service-role/AmazonEBSCSIDriverPolicy", "AdministratorAccess"} {
		if !Known(n) {
			t.Errorf("%s is not known", n)
		}
	}
	for name, want := range map[string]string{
		"AmazonS3ReadOnly":         "AmazonS3ReadOnlyAccess",
		"AmazonEBSCSIDriverPolicy": "service-role/AmazonEBSCSIDriverPolicy",
		"AmazonEKSClusterPolicyy":  "AmazonEKSClusterPolicy",
	} {
		if Known(name) {
			t.Errorf("%s should not be known", name)
		}
		if got := Suggest(name); len(got) == 0 || got[0] != want {
			t.Errorf("Suggest(%s) = %q, want %s first", name, got, want)
		}
	}
	if !strings.Contains(Source(), "moto") || !strings.Contains(Source(), "generated") {
		t.Errorf("Source() = %q", Source())
	}
}

func TestNameFromARN(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess":                   "AmazonS3ReadOnlyAccess",
		"arn:aws-cn:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy": "service-role/AmazonEBSCSIDriverPolicy",
		"arn:aws:iam::111122223333:policy/orders":                          "",
		"arn:aws:iam::aws:role/x":                                          "",
	} {
		got, ok := NameFromARN(arn)
		if got != want || ok != (want != "") {
			t.Errorf("NameFromARN(%s) = %q %v", arn, got, ok)
		}
	}
}

func TestNamesSortedUnique(t *testing.T) {
	all := Names()
	if len(all) < 1000 || !sort.StringsAreSorted(all) {
		t.Fatalf("%d names, sorted=%v", len(all), sort.StringsAreSorted(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			t.Fatalf("%s twice", all[i])
		}
	}
}

// TestGeneratedNotEdited regenerates the list from the installed moto and
// compares it (the header's generation date aside) with names.txt: the file
// is refreshed by `go generate`, never by hand.
func TestGeneratedNotEdited(t *testing.T) {
	if err := exec.Command("python3", "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec(\"moto\") is None)").Run(); err != nil {
		t.Skip("python3 with moto is not installed")
	}
	out := filepath.Join(t.TempDir(), "names.txt")
	if b, err := exec.Command("python3", "gen.py", out).CombinedOutput(); err != nil {
		t.Fatalf("gen.py: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	dropDate := func(s string) []string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if before, _, ok := strings.Cut(l, "; generated "); ok && strings.HasPrefix(l, "#") {
				lines[i] = before
			}
		}
		return lines
	}
	if !reflect.DeepEqual(dropDate(string(fresh)), dropDate(namesFile)) {
		t.Fatal("names.txt differs from what gen.py writes from the installed moto: run go generate ./generator/managedpolicies (a different moto version?)")
	}
}

package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func stamp(version string, settings ...debug.BuildSetting) func() (*debug.BuildInfo, bool) {
	return func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/iambind/iambind", Version: version}, Settings: settings}, true
	}
}

func TestGet(t *testing.T) {
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}
	dirty := debug.BuildSetting{Key: "vcs.modified", Value: "true"}
	tests := []struct {
		name              string
		version, revision string
		read              func() (*debug.BuildInfo, bool)
		want, suffix      string
	}{
		{"go install module@version", "", "", stamp("v0.3.0"), "v0.3.0 (", ")"},
		{"checkout build: devel with VCS", "", "", stamp("(devel)", rev, dirty), "dev (go", ", commit 0123456789ab-dirty)"},
		{"ldflags win over the stamp", "v9.9.9", "feedface", stamp("v0.3.0", rev, dirty), "v9.9.9 (go", ", commit feedface)"},
		{"no build info", "", "", func() (*debug.BuildInfo, bool) { return nil, false }, "dev (go", ")"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := get(tc.version, tc.revision, tc.read).String()
			if !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, tc.suffix) {
				t.Errorf("got %q, want %q ... %q", got, tc.want, tc.suffix)
			}
		})
	}
}

// Package buildinfo says which build of iambind is running: the version and
// VCS revision come from the Go toolchain's build stamp (runtime/debug),
// unless the build overrides them with -ldflags (make build, the Dockerfile).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at build time, e.g.
//
//	go build -ldflags "-X github.com/iambind/iambind/internal/buildinfo.Version=v1.2.3 -X github.com/iambind/iambind/internal/buildinfo.Revision=abc123"
//
// Empty means "ask the build stamp".
var (
	Version  string
	Revision string
)

// Info is what a binary knows about its own build.
type Info struct {
	Version   string // v1.2.3, a pseudo-version, or "dev"
	Revision  string // VCS commit, "" when unknown
	Modified  bool   // built from a tree with uncommitted changes
	GoVersion string
}

// Get reads the build: -ldflags overrides win, then the module version Go
// stamps for `go install module@version` (or a tagged VCS build), then the
// VCS revision Go stamps for builds inside a checkout.
func Get() Info { return get(Version, Revision, debug.ReadBuildInfo) }

func get(version, revision string, read func() (*debug.BuildInfo, bool)) Info {
	info := Info{Version: version, Revision: revision, GoVersion: runtime.Version()}
	bi, ok := read()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Revision == "" {
					info.Revision = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true" && revision == ""
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// String is the one-line form for `version` commands and results:
// "v1.2.3 (go1.26.8, linux/amd64, commit 0123456789ab)".
func (i Info) String() string {
	parts := []string{i.GoVersion, runtime.GOOS + "/" + runtime.GOARCH}
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if i.Modified {
			rev += "-dirty"
		}
		parts = append(parts, "commit "+rev)
	}
	return fmt.Sprintf("%s (%s)", i.Version, strings.Join(parts, ", "))
}

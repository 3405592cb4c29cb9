package main

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/smartonboarding/smartonboard/httpapi"
)

// Set at build time: go build -ldflags "-X main.version=1.2.3 -X main.commit=abc -X main.buildTime=...".
var (
	version   = ""
	commit    = ""
	buildTime = ""
)

// buildInfo fills what -ldflags did not set from the module and VCS data that the
// Go toolchain embeds, so even `go run` reports something true.
func buildInfo() httpapi.BuildInfo {
	info := httpapi.BuildInfo{Version: version, Commit: commit, BuiltAt: buildTime}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.BuiltAt == "":
				info.BuiltAt = s.Value
			case s.Key == "vcs.modified" && s.Value == "true" && info.Commit != "" && commit == "":
				info.Commit += "-dirty"
			}
		}
	}
	info.Version = or(info.Version, "dev")
	info.Commit = or(info.Commit, "unknown")
	info.BuiltAt = or(info.BuiltAt, "unknown")
	return info
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func printVersion(w io.Writer) {
	bi := buildInfo()
	fmt.Fprintf(w, "smartonboard %s\ncommit: %s\nbuilt:  %s\n", bi.Version, bi.Commit, bi.BuiltAt)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildVersion is what the binary knows about its own build: the module
// version (a tag when installed with `go install …@vX`, "(devel)" from a
// checkout), the commit and its time when built inside a git work tree.
type buildVersion struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

func readVersion() buildVersion {
	v := buildVersion{Version: "(unknown)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v buildVersion) String() string {
	s := "steeple " + v.Version
	if v.Revision != "" {
		s += " (commit " + v.Revision
		if v.Time != "" {
			s += ", " + v.Time
		}
		if v.Modified {
			s += ", with local changes"
		}
		s += ")"
	}
	return s + " built with " + v.Go
}

func runVersion(ctx context.Context, args []string, out, errOut io.Writer) error {
	asJSON := false
	for _, a := range args {
		switch a {
		case "--json", "-json":
			asJSON = true
		case "-h", "--help", "-help":
			fmt.Fprint(out, "Usage: steeple version [--json]\n\nPrints the build: module version, commit and its time (when known), Go version.\n")
			return nil
		default:
			return usageError{fmt.Sprintf("version: unexpected argument %q", a)}
		}
	}
	v := readVersion()
	if asJSON {
		return json.NewEncoder(out).Encode(v)
	}
	_, err := fmt.Fprintln(out, v)
	return err
}

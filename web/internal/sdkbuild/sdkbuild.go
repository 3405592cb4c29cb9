// Package sdkbuild turns the SDK's source into the files the server embeds: a
// minified script, an ES module and their source maps. esbuild's Go API does
// the work, so building needs Go alone, never Node.js; the web package's test
// rebuilds and compares, so the committed files cannot drift from the source.
package sdkbuild

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Banner heads every built file.
const Banner = "/*! Smart Onboarding SDK — built from web/sdk/src by `go generate ./web`; source map alongside. */"

// Build bundles sdkDir/src/index.js into the files of sdkDir/dist, keyed by
// their base names, without writing them.
func Build(sdkDir string) (map[string][]byte, error) {
	abs, err := filepath.Abs(sdkDir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range []struct {
		name   string
		format api.Format
	}{{"smartonboard.js", api.FormatIIFE}, {"smartonboard.mjs", api.FormatESModule}} {
		res := api.Build(api.BuildOptions{
			AbsWorkingDir:     abs,
			EntryPoints:       []string{"src/index.js"},
			Outfile:           filepath.Join("dist", f.name),
			Bundle:            true,
			Format:            f.format,
			GlobalName:        globalName(f.format),
			MinifyWhitespace:  true,
			MinifyIdentifiers: true,
			MinifySyntax:      true,
			Sourcemap:         api.SourceMapLinked,
			SourcesContent:    api.SourcesContentInclude,
			Target:            api.ES2020,
			Platform:          api.PlatformBrowser,
			Banner:            map[string]string{"js": Banner},
			LegalComments:     api.LegalCommentsNone,
			Write:             false,
		})
		if len(res.Errors) > 0 {
			msgs := api.FormatMessages(res.Errors, api.FormatMessagesOptions{Kind: api.ErrorMessage})
			return nil, fmt.Errorf("building %s: %s", f.name, strings.Join(msgs, "\n"))
		}
		for _, o := range res.OutputFiles {
			out[filepath.Base(o.Path)] = o.Contents
		}
	}
	return out, nil
}

// globalName is the window property the classic script sets.
func globalName(f api.Format) string {
	if f == api.FormatIIFE {
		return "SmartOnboarding"
	}
	return ""
}

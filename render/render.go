// Package render turns the Markdown of content bodies into HTML that is safe to
// put in a page: CommonMark with GitHub's tables, strikethrough and autolinks,
// rendered by goldmark and then sanitized by bluemonday's user-generated-content
// policy, so no script, event handler, style or dangerous URL survives, however
// the Markdown or the HTML inside it is written.
package render

import (
	"bytes"
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	so "github.com/smartonboarding/smartonboard"
)

// MaxInputBytes bounds the Markdown Markdown renders: the size of the largest
// content body, so every stored body renders and nothing larger is parsed.
const MaxInputBytes = so.MaxBodyBytes

// Markdown renders src to sanitized HTML. Raw HTML in src is kept only as far
// as the sanitizer allows (formatting such as <sup> or <details>; never
// <script>, event handlers, styles, forms or frames); links get
// rel="nofollow noopener" and open in a new tab (target="_blank"), and only
// http, https, mailto and relative URLs survive, so javascript: and data: URLs
// are dropped. Input over MaxInputBytes is refused with a too_large error.
func Markdown(src string) (string, error) {
	if len(src) > MaxInputBytes {
		return "", so.Errorf(so.ETOOLARGE, "markdown is %d bytes; the limit is %d", len(src), MaxInputBytes)
	}
	if depth := quoteDepth(src); depth > MaxQuoteDepth {
		return "", so.Errorf(so.EINVALID, "markdown nests block quotes %d deep; the limit is %d", depth, MaxQuoteDepth)
	}
	buf := buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4*MaxInputBytes { // keep the pool from holding on to outsized buffers
			buf.Reset()
			buffers.Put(buf)
		}
	}()
	buf.Reset()
	if err := markdown.Convert([]byte(src), buf); err != nil {
		return "", err
	}
	return policy.SanitizeReader(buf).String(), nil
}

// MaxQuoteDepth bounds how deeply block quotes nest: goldmark's time grows
// with the square of the depth (a 100 KiB line of '>' takes seconds), and no
// article needs more than a few levels.
const MaxQuoteDepth = 32

// quoteDepth returns the most '>' markers any line starts with, spaces between
// them allowed, in one pass over src.
func quoteDepth(src string) int {
	deepest, depth, atStart := 0, 0, true
	for i := 0; i < len(src); i++ {
		switch c := src[i]; {
		case c == '\n':
			depth, atStart = 0, true
		case !atStart:
		case c == '>':
			depth++
			deepest = max(deepest, depth)
		case c != ' ' && c != '\t':
			atStart = false
		}
	}
	return deepest
}

var buffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// markdown renders raw HTML as it is (html.WithUnsafe) and leaves URLs alone:
// the sanitizer, not the renderer, is the one place that decides what is safe,
// so a Markdown link and an HTML <a> meet the same rules. Both are safe for
// concurrent use once built.
var markdown = goldmark.New(
	goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.Linkify,
	),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(newTabLinks{}, 100))),
	goldmark.WithRendererOptions(html.WithUnsafe()),
)

var policy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true) // and adds rel="noopener" to every target="_blank"
	p.AllowAttrs("target").Matching(regexp.MustCompile(`^_blank$`)).OnElements("a")
	// Fenced code keeps its language, for a highlighter on the page.
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^language-[A-Za-z0-9_+#.-]{1,32}$`)).OnElements("code")
	return p
}()

// newTabLinks marks every Markdown link and autolink target="_blank", relative
// ones too, so all of a help article's links open beside the product.
type newTabLinks struct{}

func (newTabLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			switch l := n.(type) {
			case *ast.Link:
				if !html.IsDangerousURL(l.Destination) { // a dropped URL leaves no link to open
					l.SetAttributeString("target", []byte("_blank"))
				}
			case *ast.AutoLink:
				if !html.IsDangerousURL(l.URL(source)) {
					l.SetAttributeString("target", []byte("_blank"))
				}
			}
		}
		return ast.WalkContinue, nil
	})
}

package render

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	so "github.com/smartonboarding/smartonboard"
)

func TestMarkdownRendersCommonMarkAndGFM(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, src, want string }{
		{"heading and emphasis", "# Title\n\nSome *em* and **strong** `code`.",
			"<h1>Title</h1>\n<p>Some <em>em</em> and <strong>strong</strong> <code>code</code>.</p>\n"},
		{"lists", "1. one\n2. two\n\n- a\n- b",
			"<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
		{"table with alignment", "| a | b |\n|:-|-:|\n| 1 | 2 |",
			"<table>\n<thead>\n<tr>\n<th align=\"left\">a</th>\n<th align=\"right\">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td align=\"left\">1</td>\n<td align=\"right\">2</td>\n</tr>\n</tbody>\n</table>\n"},
		{"strikethrough", "~~gone~~", "<p><del>gone</del></p>\n"},
		{"autolink", "see https://example.com/a?b=1 now",
			"<p>see <a href=\"https://example.com/a?b=1\" target=\"_blank\" rel=\"nofollow noopener\">https://example.com/a?b=1</a> now</p>\n"},
		{"link", "[docs](https://example.com \"Docs\")",
			"<p><a href=\"https://example.com\" title=\"Docs\" target=\"_blank\" rel=\"nofollow noopener\">docs</a></p>\n"},
		{"relative link", "[settings](/settings#billing)",
			"<p><a href=\"/settings#billing\" target=\"_blank\" rel=\"nofollow noopener\">settings</a></p>\n"},
		{"mailto", "<mailto:help@example.com>",
			"<p><a href=\"mailto:help@example.com\" target=\"_blank\" rel=\"nofollow noopener\">mailto:help@example.com</a></p>\n"},
		{"image", "![chart](https://example.com/c.png)", "<p><img src=\"https://example.com/c.png\" alt=\"chart\"></p>\n"},
		{"fenced code keeps its language", "```go\nfmt.Println(\"<b>\")\n```",
			"<pre><code class=\"language-go\">fmt.Println(&#34;&lt;b&gt;&#34;)\n</code></pre>\n"},
		{"blockquote", "> note", "<blockquote>\n<p>note</p>\n</blockquote>\n"},
		{"harmless inline html", "E = mc<sup>2</sup>, <abbr title=\"HyperText\">HTML</abbr>", "<p>E = mc<sup>2</sup>, <abbr title=\"HyperText\">HTML</abbr></p>\n"},
		{"unknown element keeps its text", "Press <kbd>Ctrl</kbd>", "<p>Press Ctrl</p>\n"},
		{"details", "<details><summary>More</summary>Hidden</details>", "<details><summary>More</summary>Hidden</details>"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Markdown(c.src)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("Markdown(%q)\n got %q\nwant %q", c.src, got, c.want)
			}
			checkSafe(t, got)
		})
	}
}

// TestMarkdownHostile: whatever the author writes, no script, handler, style,
// frame, form or dangerous URL reaches the page.
func TestMarkdownHostile(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, src string
		keep      string // text that must survive, if any
	}{
		{"script tag", "hello <script>alert(1)</script> world", "hello"},
		{"script block", "<script>\nalert(document.cookie)\n</script>\n\nafter", "after"},
		{"script with odd case", "<ScRiPt>alert(1)</sCrIpT>", ""},
		{"img onerror", `<img src="x" onerror="alert(1)">`, ""},
		{"svg onload", `<svg onload="alert(1)"><circle r="1"/></svg>`, ""},
		{"body onload", `<body onload=alert(1)>`, ""},
		{"onclick on allowed element", `<p onclick="alert(1)" onmouseover="alert(2)">click</p>`, "click"},
		{"javascript link", "[click](javascript:alert(1))", "click"},
		{"javascript link, mixed case", "[click](JaVaScRiPt:alert(1))", "click"},
		{"javascript link, entity encoded", "[click](&#106;avascript:alert(1))", "click"},
		{"javascript link, tab inside", "[click](java\tscript:alert(1))", "click"},
		{"javascript autolink", "<javascript:alert(1)>", ""},
		{"javascript raw anchor", `<a href="javascript:alert(1)">click</a>`, "click"},
		{"javascript raw anchor, entities", `<a href="&#x6A;avascript&#x3A;alert(1)">click</a>`, "click"},
		{"vbscript link", "[x](vbscript:msgbox(1))", "x"},
		{"data url image", "![x](data:image/png;base64,iVBORw0KGgo=)", ""},
		{"data url html image", "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", ""},
		{"data url raw img", `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`, ""},
		{"data url link", "[x](data:text/html,<script>alert(1)</script>)", "x"},
		{"raw html block", "<div>\n<iframe src=\"https://evil.example\"></iframe>\n<form action=\"/steal\"><input name=p></form>\n</div>", ""},
		{"style attribute and tag", "<style>body{display:none}</style><p style=\"background:url(javascript:alert(1))\">styled</p>", "styled"},
		{"object and embed", `<object data="x.swf"></object><embed src="x.swf">`, ""},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`, ""},
		{"base href", `<base href="javascript:alert(1)//">`, ""},
		{"html comment hiding script", "<!-- --><script>alert(1)</script><!-- -->", ""},
		{"unclosed tag", `<img src=x onerror=alert(1)//`, ""},
		{"link title breakout", `[x](https://example.com "a\" onmouseover=\"alert(1)")`, "x"},
		{"image alt breakout", `![a" onerror="alert(1)](https://example.com/x.png)`, ""},
		{"target hijack", `<a href="https://example.com" target="_top" rel="opener">x</a>`, "x"},
		{"srcdoc", `<iframe srcdoc="<script>alert(1)</script>"></iframe>`, ""},
		{"formaction", `<button formaction="javascript:alert(1)">b</button>`, "b"},
		{"nested markdown in html", "<div onclick=alert(1)>\n\n[x](javascript:alert(1))\n\n</div>", "x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Markdown(c.src)
			if err != nil {
				t.Fatal(err)
			}
			checkSafe(t, got)
			lower := strings.ToLower(markup(t, got)) // the author's words may say anything, as text
			for _, bad := range []string{"<script", "javascript:", "vbscript:", "data:", "onerror", "onload", "onclick",
				"onmouseover", "<iframe", "<style", "style=", "<form", "<object", "<embed", "<meta", "<base", "srcdoc", "formaction", "_top"} {
				if strings.Contains(lower, bad) {
					t.Fatalf("Markdown(%q) = %q: %q got through", c.src, got, bad)
				}
			}
			if c.keep != "" && !strings.Contains(got, c.keep) {
				t.Fatalf("Markdown(%q) = %q: lost the text %q", c.src, got, c.keep)
			}
		})
	}
}

func TestMarkdownBoundsInput(t *testing.T) {
	t.Parallel()
	if _, err := Markdown(strings.Repeat("a", MaxInputBytes)); err != nil {
		t.Fatalf("a body at the limit: %v", err)
	}
	_, err := Markdown(strings.Repeat("a", MaxInputBytes+1))
	if so.ErrorCode(err) != so.ETOOLARGE {
		t.Fatalf("a body over the limit: %v, want too_large", err)
	}
	if MaxInputBytes != so.MaxBodyBytes {
		t.Fatalf("MaxInputBytes %d, but content bodies may be %d bytes", MaxInputBytes, so.MaxBodyBytes)
	}
}

func TestMarkdownBoundsQuoteDepth(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		src  string
		want int
	}{
		{"no quote", 0}, {"> a\n>> b\n", 2}, {"a > b > c", 0}, {" > > >\tx > y", 3}, {"x\n\t>>>>", 4},
	} {
		if got := quoteDepth(c.src); got != c.want {
			t.Errorf("quoteDepth(%q) = %d, want %d", c.src, got, c.want)
		}
	}
	if _, err := Markdown(strings.Repeat("> ", MaxQuoteDepth) + "deep"); err != nil {
		t.Fatalf("quotes at the limit: %v", err)
	}
	for _, src := range []string{strings.Repeat(">", MaxQuoteDepth+1), strings.Repeat("> ", MaxInputBytes/2)} {
		start := time.Now()
		if _, err := Markdown(src); so.ErrorCode(err) != so.EINVALID {
			t.Fatalf("quotes past the limit: %v, want invalid", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("refusing deep quotes took %v", d)
		}
	}
}

// TestMarkdownPathological: inputs built to make parsers backtrack still render
// a full-size body quickly.
func TestMarkdownPathological(t *testing.T) {
	t.Parallel()
	n := MaxInputBytes / 4
	for name, src := range map[string]string{
		"open brackets":     strings.Repeat("[", n),
		"open links":        strings.Repeat("[a](", n/4),
		"emphasis runs":     strings.Repeat("*a **a ", n/8),
		"nested quotes":     strings.Repeat(">", MaxQuoteDepth) + "\n" + strings.Repeat("> >\n", n/4),
		"nested lists":      strings.Repeat("- ", n/2),
		"backticks":         strings.Repeat("`a``", n/4),
		"html openers":      strings.Repeat("<a ", n/3),
		"table columns":     "|" + strings.Repeat("a|", n/4) + "\n|" + strings.Repeat("-|", n/4) + "\n" + strings.Repeat("|b", n/4),
		"autolink-ish text": strings.Repeat("www.a", n/5),
		"entities":          strings.Repeat("&#x", n/3),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			got, err := Markdown(src)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 20*time.Second { // generous: the race detector slows it down
				t.Fatalf("took %v", d)
			}
			checkSafe(t, got)
		})
	}
}

func TestMarkdownConcurrent(t *testing.T) {
	t.Parallel()
	want, err := Markdown(article)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := Markdown(article)
				if err == nil && got != want {
					err = errors.New("concurrent renders differ")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{article, "<script>alert(1)</script>", "[x](javascript:alert(1))", `<img src=x onerror=alert(1)>`,
		"![x](data:image/png;base64,AAAA)", "| a |\n|---|\n| <b onclick=x>b</b> |", "<a href=\"java&#x09;script:x\">y</a>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got, err := Markdown(src)
		if err != nil {
			if len(src) <= MaxInputBytes {
				t.Fatalf("Markdown(%q): %v", src, err)
			}
			return
		}
		checkSafe(t, got)
	})
}

// allowedAttrs is every attribute a rendered page may carry; each is checked
// further below.
var allowedAttrs = map[string]bool{"href": true, "src": true, "alt": true, "title": true, "rel": true, "target": true,
	"align": true, "class": true, "open": true, "id": true, "dir": true, "lang": true, "cite": true, "width": true,
	"height": true, "start": true, "reversed": true, "type": true, "colspan": true, "rowspan": true, "scope": true,
	"headers": true, "abbr": true, "span": true, "valign": true, "datetime": true, "name": true, "value": true,
	"hreflang": true, "summary": true, "axis": true, "char": true, "charoff": true, "nowrap": true}

var forbiddenTags = map[string]bool{"script": true, "style": true, "iframe": true, "frame": true, "frameset": true,
	"object": true, "embed": true, "form": true, "input": true, "button": true, "textarea": true, "select": true,
	"meta": true, "base": true, "link": true, "svg": true, "math": true, "html": true, "body": true, "head": true}

// checkSafe parses rendered HTML as a browser would and fails on any element,
// attribute or URL the sanitizer should have removed.
func checkSafe(t *testing.T, rendered string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(rendered))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("rendered HTML does not tokenize: %v\n%s", z.Err(), rendered)
			}
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if forbiddenTags[tok.Data] {
			t.Fatalf("<%s> in rendered HTML:\n%s", tok.Data, rendered)
		}
		attrs := map[string]string{}
		for _, a := range tok.Attr {
			if !allowedAttrs[a.Key] {
				t.Fatalf("attribute %s=%q on <%s> in rendered HTML:\n%s", a.Key, a.Val, tok.Data, rendered)
			}
			attrs[a.Key] = a.Val
			switch a.Key {
			case "href", "src", "cite":
				if err := checkURL(a.Val); err != nil {
					t.Fatalf("%s=%q on <%s>: %v\n%s", a.Key, a.Val, tok.Data, err, rendered)
				}
			case "target":
				if a.Val != "_blank" {
					t.Fatalf("target=%q in rendered HTML:\n%s", a.Val, rendered)
				}
			case "class":
				if tok.Data != "code" || !strings.HasPrefix(a.Val, "language-") {
					t.Fatalf("class=%q on <%s> in rendered HTML:\n%s", a.Val, tok.Data, rendered)
				}
			}
		}
		if tok.Data == "a" && attrs["href"] != "" {
			rel := strings.Fields(attrs["rel"])
			if !contains(rel, "nofollow") {
				t.Fatalf("link without rel=nofollow:\n%s", rendered)
			}
			if attrs["target"] == "_blank" && !contains(rel, "noopener") {
				t.Fatalf("new-tab link without rel=noopener:\n%s", rendered)
			}
		}
	}
}

// markup returns the tags of rendered HTML without the text between them.
func markup(t *testing.T, rendered string) string {
	t.Helper()
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(rendered))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
		default:
			b.Write(z.Raw())
		}
	}
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		return nil
	}
	return fmt.Errorf("scheme %q", u.Scheme)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// article is a typical help article of about 2 KiB.
var article = func() string {
	s := `# Connect your data source

Before your dashboards show anything, **connect a data source**. It takes about
two minutes and you can change it later in [Settings](/settings/sources).

## What you need

- An account with *read* access to the database
- The host name and port (for example ` + "`db.example.com:5432`" + `)
- A network rule that lets our servers in: see https://example.com/docs/network

## Steps

1. Open **Sources** and press <kbd>New source</kbd>.
2. Pick the kind of database.
3. Fill in the form:

   | Field    | Example            | Required |
   |:---------|:-------------------|:--------:|
   | Host     | db.example.com     | yes      |
   | Port     | 5432               | yes      |
   | Database | analytics          | yes      |
   | Schema   | public             | no       |

4. Press **Test connection**, then **Save**.

> **Tip:** a read-only replica keeps heavy reports away from your production
> database.

` + "```sql\nCREATE ROLE reporting LOGIN PASSWORD 'change-me';\nGRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting;\n```" + `

## Troubleshooting

~~Restart the agent~~ — no longer needed since version 3. If the test fails,
check the [firewall guide](https://example.com/docs/firewall "Firewall") or
write to <support@example.com>.

![Connection screen](https://example.com/img/connect.png)

## Common errors

| Message                  | What it means                         | What to do                      |
|:-------------------------|:--------------------------------------|:--------------------------------|
| *connection refused*     | nothing listens on that host and port | check the port and the firewall |
| *password authentication* | the user name or password is wrong    | reset the password              |
| *timeout*                | a network rule drops our packets      | allow our addresses             |

Still stuck? Open a ticket from **Help → Contact us** and attach the message
you saw. We answer within one working day, and usually much sooner.
`
	return s
}()

func BenchmarkMarkdownHelpArticle(b *testing.B) {
	b.SetBytes(int64(len(article)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Markdown(article); err != nil {
			b.Fatal(err)
		}
	}
}

func TestArticleIsTypical(t *testing.T) {
	t.Parallel()
	if n := len(article); n < 1500 || n > 2600 {
		t.Fatalf("the benchmark's article is %d bytes, want about 2 KiB", n)
	}
}

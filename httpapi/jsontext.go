package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	so "github.com/smartonboarding/smartonboard"
)

// structural marks the bytes the scanner acts on; it skips all others.
var structural = [256]bool{'{': true, '}': true, '[': true, ']': true, ',': true, '"': true}

// anyDepth checks every object and string of a JSON value, however deep.
const anyDepth = math.MaxInt

// manyKeys is the object size from which field names are remembered in a map
// rather than compared one by one, so a hostile object of many thousand keys
// costs linear time.
const manyKeys = 16

// checkJSONText finds, in one pass over raw JSON, what encoding/json would
// silently accept and the engines would then store wrongly: a field name sent
// twice in one object, exactly or differing only in case (encoding/json matches
// names ignoring case and keeps the last), and a string that is not valid UTF-8
// or holds an unpaired \u surrogate (decoded as U+FFFD, so different raw values
// collide). Only objects and strings at most maxDepth containers deep are
// checked. The JSON must already have decoded; the error names the field.
func checkJSONText(raw []byte, maxDepth int) error {
	return checkJSONNames(raw, maxDepth, 0)
}

// checkJSONNames is checkJSONText that also holds the field names of objects
// at most exactDepth containers deep to lower snake case, as every name of the
// API's own objects is: encoding/json would take "USER_ID" (or "uſer_id", with
// a long s) for "user_id", so a name spelled otherwise is refused rather than
// guessed at. Deeper objects (properties, traits) are the client's own.
func checkJSONNames(raw []byte, maxDepth, exactDepth int) error {
	sc := jsonScanner{raw: raw, frames: make([]scanFrame, 0, 8), names: make([]span, 0, 32), exact: exactDepth}
	return sc.scan(maxDepth)
}

// span is a field name: raw[off:end], or, for a name that held escapes,
// scratch[off:end] once decoded. Offsets rather than slices keep the scanner
// free of pointers, so it lives on the stack.
type span struct {
	off, end int
	scratch  bool
	sig      uint32 // for an ASCII name, its length and first and last letters ignoring case; else 0
}

// signature lets most pairs of different ASCII names be told apart without
// comparing them: names equal ignoring case have equal signatures.
func signature(name []byte) uint32 {
	if len(name) == 0 {
		return 1
	}
	return uint32(len(name))<<16 | uint32(name[0]|0x20)<<8 | uint32(name[len(name)-1]|0x20)
}

// scanFrame is one open object or array.
type scanFrame struct {
	object  bool
	wantKey bool            // object: the next string is a name
	hasName bool            // object: name is set
	index   int             // array: the current element
	name    span            // object: the current field name
	first   int             // object: where its names start in jsonScanner.names
	folded  map[string]span // object with many names: folded name → name
}

// jsonScanner walks one JSON text.
type jsonScanner struct {
	raw     []byte
	frames  []scanFrame
	names   []span // the names of the open objects, innermost last
	scratch []byte // decoded names that held escapes
	utf8    bool   // the whole text is valid UTF-8
	ascii   bool   // the whole text is ASCII, so names without escapes have signatures
	exact   int    // objects this many containers deep or less must spell names in lower snake case
}

func (sc *jsonScanner) scan(maxDepth int) error {
	raw := sc.raw
	sc.ascii = isASCII(raw)
	sc.utf8 = sc.ascii || utf8.Valid(raw) // strings are looked at one by one only if this fails
	for i := 0; i < len(raw); i++ {
		if !structural[raw[i]] {
			continue
		}
		switch raw[i] {
		case '{', '[':
			sc.frames = append(sc.frames, scanFrame{object: raw[i] == '{', wantKey: raw[i] == '{', first: len(sc.names)})
		case '}', ']':
			if n := len(sc.frames); n > 0 {
				sc.names = sc.names[:sc.frames[n-1].first]
				sc.frames = sc.frames[:n-1]
			}
		case ',':
			if n := len(sc.frames); n > 0 {
				f := &sc.frames[n-1]
				f.wantKey = f.object
				f.index++
			}
		case '"':
			end, escaped := stringEnd(raw, i)
			n := len(sc.frames)
			// Most strings are plain values of a valid text: nothing to check.
			if n > 0 && sc.frames[n-1].wantKey || escaped || !sc.utf8 {
				if err := sc.str(i+1, end, escaped, n <= maxDepth); err != nil {
					return err
				}
			}
			i = end
		}
	}
	return nil
}

// str checks the string raw[start:end] and records it if it is a field name.
func (sc *jsonScanner) str(start, end int, escaped, check bool) error {
	var f *scanFrame
	if n := len(sc.frames); n > 0 && sc.frames[n-1].object && sc.frames[n-1].wantKey {
		f = &sc.frames[n-1]
	}
	s := sc.raw[start:end]
	var nul, lone bool
	if check && escaped {
		nul, lone = so.BadEscapes(s)
	}
	if nul {
		return so.FieldErrorf(so.EINVALID, sc.path(""), "must not contain NUL characters (\\u0000)")
	}
	if check && (!sc.utf8 && !utf8.Valid(s) || lone) {
		if f != nil {
			return so.FieldErrorf(so.EINVALID, sc.path(printable(s)), "this field name is not valid UTF-8 (or holds an unpaired \\u surrogate); send JSON as UTF-8")
		}
		return so.FieldErrorf(so.EINVALID, sc.path(""), "is not valid UTF-8 (or holds an unpaired \\u surrogate); send JSON as UTF-8, as a stray byte would be stored as U+FFFD")
	}
	if f == nil {
		return nil
	}
	name := span{off: start, end: end}
	if escaped {
		name = sc.unescape(s)
	} else if sc.ascii {
		name.sig = signature(s)
	}
	f.wantKey, f.hasName = false, false
	if len(sc.frames) <= sc.exact && !snakeCase(sc.bytes(name)) {
		b := sc.bytes(name)
		return so.FieldErrorf(so.EINVALID, sc.path(printable(b)), "unknown field %q: field names are lower case, as documented", printable(b))
	}
	if check {
		if earlier, ok := sc.remember(f, name); ok {
			return sc.duplicate(earlier, name)
		}
	}
	f.name, f.hasName = name, true
	return nil
}

// snakeCase tells whether a field name is spelled as the API's own are:
// lower-case ASCII letters, digits and underscores.
func snakeCase(name []byte) bool {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func (sc *jsonScanner) bytes(n span) []byte {
	if n.scratch {
		return sc.scratch[n.off:n.end]
	}
	return sc.raw[n.off:n.end]
}

// remember records a field name of the innermost object and returns the
// earlier name it repeats, if any.
func (sc *jsonScanner) remember(f *scanFrame, n span) (span, bool) {
	name := sc.bytes(n)
	if f.folded != nil {
		k := foldName(name)
		if earlier, ok := f.folded[k]; ok {
			return earlier, true
		}
		f.folded[k] = n
		return span{}, false
	}
	for _, k := range sc.names[f.first:] {
		if (k.sig == 0 || n.sig == 0 || k.sig == n.sig) && bytes.EqualFold(sc.bytes(k), name) {
			return k, true
		}
	}
	sc.names = append(sc.names, n)
	if len(sc.names)-f.first > manyKeys {
		f.folded = make(map[string]span, 2*manyKeys)
		for _, k := range sc.names[f.first:] {
			f.folded[foldName(sc.bytes(k))] = k
		}
	}
	return span{}, false
}

// duplicate reports a field name that repeats an earlier one of its object.
func (sc *jsonScanner) duplicate(earlier, n span) error {
	a, b := sc.bytes(earlier), sc.bytes(n)
	path := sc.path(string(b))
	if bytes.Equal(a, b) {
		return so.FieldErrorf(so.EINVALID, path, "field %q is sent twice in one object; send each field once", b)
	}
	return so.FieldErrorf(so.EINVALID, path, "fields %q and %q differ only in case and would be taken for one field; send each field once, spelled as documented", a, b)
}

// path names the current position: the open containers' names and indexes,
// then leaf if it is not empty.
func (sc *jsonScanner) path(leaf string) string {
	var b strings.Builder
	for i := range sc.frames {
		f := &sc.frames[i]
		last := i == len(sc.frames)-1
		switch {
		case f.object && last && leaf != "":
			appendName(&b, leaf)
		case f.object && f.hasName:
			appendName(&b, printable(sc.bytes(f.name)))
		case !f.object:
			fmt.Fprintf(&b, "[%d]", f.index)
		}
	}
	return b.String()
}

// unescape decodes a field name that holds escapes, as encoding/json would
// before matching it, into the scratch buffer.
func (sc *jsonScanner) unescape(s []byte) span {
	var name string
	if json.Unmarshal(append(append([]byte{'"'}, s...), '"'), &name) != nil {
		name = string(s)
	}
	off := len(sc.scratch)
	sc.scratch = append(sc.scratch, name...)
	return span{off: off, end: len(sc.scratch), scratch: true}
}

func appendName(b *strings.Builder, name string) {
	if b.Len() > 0 {
		b.WriteByte('.')
	}
	b.WriteString(name)
}

// printable is a name safe to echo in an error: invalid bytes become U+FFFD.
func printable(s []byte) string {
	return strings.ToValidUTF8(string(s), "\uFFFD")
}

// isASCII tells whether b holds only ASCII, eight bytes at a time.
func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stringEnd returns the index of the quote closing the string opened at raw[i],
// and whether the string holds escapes. A plain loop beats bytes.IndexByte on
// strings as short as field names and ids.
func stringEnd(raw []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '"':
			return j, escaped
		case '\\':
			escaped = true
			j++ // the escaped character, a quote perhaps
		}
	}
	return len(raw) - 1, escaped // not JSON; it has decoded, so never here
}

// foldName maps every character to the smallest of those equal to it ignoring
// case, so two names are equal under bytes.EqualFold exactly when their
// foldNames are equal.
func foldName(name []byte) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range string(name) {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}

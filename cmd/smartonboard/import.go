package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smartonboarding/smartonboard/api"
)

// importCheckpoint is what `import` remembers of a file between runs: the
// last line the server committed, and the file's size to notice a new file.
type importCheckpoint struct {
	Line int   `json:"line"`
	Size int64 `json:"size"`
}

// runImport runs `smartonboard import FILE`: it sends a JSON-lines history
// (events as POST /v1/events takes them, users as POST /v1/identify takes
// them) to POST /v1/import in chunks, printing progress, and keeps FILE.progress
// with the last committed line so that a run cut short resumes after it.
func runImport(ctx context.Context, args []string, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the server (default http://127.0.0.1 on SMARTONBOARD_ADDR's port, 8080)")
	key := fs.String("key", "", "a secret key with the admin scope (default SMARTONBOARD_ADMIN_KEY)")
	chunk := fs.Int("chunk", 20000, "lines per request (100 to 1,000,000)")
	restart := fs.Bool("restart", false, "start from the first line, ignoring FILE.progress")
	if err := fs.Parse(args); err != nil {
		return exitError{2}
	}
	if fs.NArg() != 1 {
		return errors.New("give one file: smartonboard import [--url URL] [--key sk_…] events.jsonl")
	}
	if *chunk < 100 || *chunk > 1_000_000 {
		return fmt.Errorf("--chunk %d: give 100 to 1000000", *chunk)
	}
	env := envMap(environ)
	if *url == "" {
		*url = "http://127.0.0.1:" + addrPort(env["SMARTONBOARD_ADDR"])
	}
	if *key == "" {
		*key = env["SMARTONBOARD_ADMIN_KEY"]
	}
	if !strings.HasPrefix(*key, "sk_") {
		return errors.New("--key: give a secret key (sk_…) with the admin scope, or set SMARTONBOARD_ADMIN_KEY")
	}
	im := &importer{url: strings.TrimRight(*url, "/"), key: *key, chunk: *chunk, path: fs.Arg(0), out: stdout}
	return im.run(ctx, *restart)
}

func envMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// addrPort is the port of a listen address such as ":8080", or 8080.
func addrPort(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "8080"
}

// importer sends one file.
type importer struct {
	url, key, path string
	chunk          int
	out            io.Writer
	client         http.Client
}

func (im *importer) progressPath() string { return im.path + ".progress" }

// run sends the file's lines after the checkpoint, chunk by chunk.
func (im *importer) run(ctx context.Context, restart bool) error {
	f, err := os.Open(im.path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	cp := importCheckpoint{Size: st.Size()}
	if !restart {
		if cp, err = im.resume(st.Size()); err != nil {
			return err
		}
	}
	if cp.Line > 0 {
		fmt.Fprintf(im.out, "resuming %s after line %d (the last one committed; --restart starts over)\n", im.path, cp.Line)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	total := api.ImportSummary{Errors: []api.ImportError{}}
	line, began := 0, time.Now()
	for {
		body, n, err := readLines(br, im.chunk)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		first := line + 1
		line += n
		if line <= cp.Line {
			continue // committed by an earlier run
		}
		if first <= cp.Line { // a chunk cut differently before: skip what was committed
			body, first = dropLines(body, cp.Line-first+1), cp.Line+1
		}
		sum, err := im.post(ctx, body, first)
		if err != nil {
			return fmt.Errorf("lines %d to %d: %w (run the same command again to resume after line %d)", first, line, err, cp.Line)
		}
		total = mergeSummary(total, sum)
		cp.Line = sum.LastLine
		if err := im.save(cp); err != nil {
			return err
		}
		fmt.Fprintf(im.out, "… line %d: %d accepted, %d duplicates, %d rejected, %d users (%s)\n", line, total.Accepted,
			total.Duplicates, total.Rejected, total.Identified, time.Since(began).Round(time.Second))
	}
	printImportSummary(im.out, total)
	return nil
}

// resume reads the checkpoint of the file, if it has one for this size.
func (im *importer) resume(size int64) (importCheckpoint, error) {
	cp := importCheckpoint{Size: size}
	b, err := os.ReadFile(im.progressPath())
	if errors.Is(err, os.ErrNotExist) {
		return cp, nil
	} else if err != nil {
		return cp, err
	}
	var old importCheckpoint
	if err := json.Unmarshal(b, &old); err != nil {
		return cp, fmt.Errorf("%s is not a checkpoint (%v): remove it or pass --restart", im.progressPath(), err)
	}
	if old.Size != size {
		return cp, fmt.Errorf("%s was written for a file of %d bytes, this one has %d: pass --restart to send it from the start",
			im.progressPath(), old.Size, size)
	}
	cp.Line = old.Line
	return cp, nil
}

// save writes the checkpoint atomically.
func (im *importer) save(cp importCheckpoint) error {
	b, _ := json.Marshal(cp)
	tmp := im.progressPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, im.progressPath())
}

// post sends one chunk, numbered from first.
func (im *importer) post(ctx context.Context, body []byte, first int) (api.ImportSummary, error) {
	var sum api.ImportSummary
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, im.url+"/v1/import?first_line="+strconv.Itoa(first), bytes.NewReader(body))
	if err != nil {
		return sum, err
	}
	req.Header.Set("Authorization", "Bearer "+im.key)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := im.client.Do(req)
	if err != nil {
		return sum, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return sum, err
	}
	if res.StatusCode != http.StatusOK {
		return sum, fmt.Errorf("the server answered %s: %s", res.Status, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		return sum, fmt.Errorf("the server's answer is not an import summary: %w", err)
	}
	return sum, nil
}

// readLines reads up to n lines (with their ends) into one body.
func readLines(br *bufio.Reader, n int) ([]byte, int, error) {
	var buf bytes.Buffer
	count := 0
	for count < n {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			buf.Write(line)
			if line[len(line)-1] != '\n' {
				buf.WriteByte('\n')
			}
			count++
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, 0, err
		}
	}
	return buf.Bytes(), count, nil
}

// dropLines drops the first k lines of body.
func dropLines(body []byte, k int) []byte {
	for ; k > 0; k-- {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return nil
		}
		body = body[i+1:]
	}
	return body
}

func mergeSummary(a, b api.ImportSummary) api.ImportSummary {
	a.Lines += b.Lines
	a.Accepted += b.Accepted
	a.Duplicates += b.Duplicates
	a.Rejected += b.Rejected
	a.Identified += b.Identified
	a.LastLine = b.LastLine
	for _, e := range b.Errors {
		if len(a.Errors) < api.MaxImportErrors {
			a.Errors = append(a.Errors, e)
		} else {
			a.ErrorsTruncated = true
		}
	}
	a.ErrorsTruncated = a.ErrorsTruncated || b.ErrorsTruncated
	return a
}

// printImportSummary prints the totals and the rejected lines.
func printImportSummary(w io.Writer, s api.ImportSummary) {
	fmt.Fprintf(w, "imported %d lines: %d events accepted, %d duplicates, %d rejected; %d users identified\n",
		s.Lines, s.Accepted, s.Duplicates, s.Rejected, s.Identified)
	for _, e := range s.Errors {
		field := ""
		if e.Field != "" {
			field = " (" + e.Field + ")"
		}
		fmt.Fprintf(w, "  line %d%s: %s: %s\n", e.Line, field, e.Code, e.Message)
	}
	if s.ErrorsTruncated {
		fmt.Fprintf(w, "  … and %d more rejected lines\n", s.Rejected-len(s.Errors))
	}
}

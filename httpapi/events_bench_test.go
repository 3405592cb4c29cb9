package httpapi

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchBatchJSON is a 50-event batch of clicks as the SDK sends it.
func benchBatchJSON() []byte {
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	evs := make([]string, 50)
	for i := range evs {
		evs[i] = fmt.Sprintf(`{"id":"b1-%d","type":"click","user_id":"user-%d","session_id":"s-1","timestamp":%q,"properties":{"target":"#button-%d","x":120,"y":48}}`, i, i, ts, i)
	}
	return []byte(`{"events":[` + strings.Join(evs, ",") + `]}`)
}

// BenchmarkDecodeValidate is the per-request CPU of an all-valid batch before it
// is queued for commit: decoding and validating its 50 events.
func BenchmarkDecodeValidate(b *testing.B) {
	body := benchBatchJSON()
	noCheck := func(string) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		inputs, err := decodeEventBatch(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, resp := validateEvents("default", noCheck, inputs); len(resp.Rejected) != 0 {
			b.Fatal(resp.Rejected)
		}
	}
}

// BenchmarkDecodeCheckText is the one pass over a batch's raw bytes that finds
// repeated field names and text that is not UTF-8.
func BenchmarkDecodeCheckText(b *testing.B) {
	body := benchBatchJSON()
	b.ReportAllocs()
	for b.Loop() {
		if err := checkJSONText(body, anyDepth); err != nil {
			b.Fatal(err)
		}
	}
}

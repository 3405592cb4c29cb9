package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// copyEventsSQL streams rows in PostgreSQL's binary COPY format, in
// eventColumns order.
const copyEventsSQL = `COPY events (` + eventColumns + `) FROM STDIN (FORMAT binary)`

// y2kMicros is 2000-01-01 UTC, where PostgreSQL's binary timestamps count from,
// in microseconds since the Unix epoch.
const y2kMicros = 946_684_800 * 1_000_000

// copyBuffers recycles encoded batches: one is about 150 bytes per event.
var copyBuffers = sync.Pool{New: func() any { return new([]byte) }}

// copyRows sends events to an open transaction with COPY … FROM STDIN in binary
// format, encoded here in one pass. pgx's CopyFrom would box every value and
// look up its encoder, which was an eighth of the server's CPU at full ingest.
func copyRows(ctx context.Context, tx pgx.Tx, events []*so.Event) error {
	bufp := copyBuffers.Get().(*[]byte)
	*bufp = appendCopyRows((*bufp)[:0], events)
	_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(*bufp), copyEventsSQL)
	// On some failures pgconn returns while its goroutine may still read the
	// buffer, so only a buffer from a finished COPY is reused, and never a
	// very large one.
	if err == nil && cap(*bufp) <= maxPooledCopyBuffer {
		copyBuffers.Put(bufp)
	}
	return err
}

// maxPooledCopyBuffer keeps an occasional huge batch from pinning its buffer.
const maxPooledCopyBuffer = 4 << 20

// appendCopyRows encodes events as a binary COPY stream: the signature and
// header, one tuple per event, and the trailer
// (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4).
func appendCopyRows(buf []byte, events []*so.Event) []byte {
	buf = append(buf, "PGCOPY\n\377\r\n\000"...)
	buf = binary.BigEndian.AppendUint32(buf, 0) // flags: no OIDs
	buf = binary.BigEndian.AppendUint32(buf, 0) // no header extension
	for _, e := range events {
		buf = binary.BigEndian.AppendUint16(buf, 10) // fields, as in eventColumns
		buf = appendText(buf, e.ProjectID)
		buf = appendText(buf, e.ID)
		buf = appendText(buf, string(e.Type))
		buf = appendText(buf, e.UserID)
		buf = appendText(buf, e.SessionID)
		buf = appendText(buf, e.Flow)
		buf = appendText(buf, e.Step)
		buf = appendTimestamp(buf, e.Timestamp)
		buf = appendTimestamp(buf, e.ReceivedAt)
		buf = appendText(buf, objectText(e.Properties))
	}
	return binary.BigEndian.AppendUint16(buf, 0xFFFF) // trailer: a tuple of -1 fields
}

// appendText is a text field: its length, then its UTF-8 bytes.
func appendText(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// appendTimestamp is a timestamptz field: microseconds since 2000-01-01 UTC.
func appendTimestamp(buf []byte, t time.Time) []byte {
	buf = binary.BigEndian.AppendUint32(buf, 8)
	micros := t.Unix()*1_000_000 + int64(t.Nanosecond()/1000) - y2kMicros // exact for any year, unlike t.Sub
	return binary.BigEndian.AppendUint64(buf, uint64(micros))
}

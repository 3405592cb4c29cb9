package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"

	so "github.com/smartonboarding/smartonboard"
)

// StartConsumer implements smartonboard.PipelineStore. SQLite's one writer
// commits transactions one after another, so seq is commit order and the end
// of the log is simply the highest seq.
func (db *DB) StartConsumer(ctx context.Context, consumer string) error {
	_, err := db.writer.ExecContext(ctx, `INSERT INTO pipeline_cursors (consumer, tx, seq, updated_at)
		VALUES (?, 0, (SELECT coalesce(max(seq), 0) FROM events), ?) ON CONFLICT (consumer) DO NOTHING`,
		consumer, so.Now().UnixMilli())
	return mapError(err)
}

// Consume implements smartonboard.PipelineStore. The write transaction holds
// the single writer, so two instances on one file take turns.
func (db *DB) Consume(ctx context.Context, consumer string, limit int, fn func(context.Context, so.ConsumerTx, []*so.Event) error) (int, error) {
	return db.ConsumeWith(ctx, consumer, so.ConsumeOptions{Limit: limit}, fn)
}

// ConsumeWith implements smartonboard.PipelineStore. Seq numbers are unique
// and ordered, so recent events numbered cursor+1, cursor+2, … with no gap
// are exactly the log's next rows, and reading them back can be skipped (so
// Handed, which the recent events cover here, is not needed). A Derived
// consumer's commit does not wait for the disk (inTxRelaxed).
func (db *DB) ConsumeWith(ctx context.Context, consumer string, opts so.ConsumeOptions, fn func(context.Context, so.ConsumerTx, []*so.Event) error) (int, error) {
	n := 0
	var next so.Cursor
	inTx := db.inTx
	if opts.Derived {
		inTx = db.inTxRelaxed
	}
	err := inTx(ctx, func(tx *stmtTx) error {
		c, err := cursorOf(ctx, tx, consumer)
		if err != nil {
			return err
		}
		limit, upTo := opts.Limit, int64(math.MaxInt64)
		if opts.After != "" {
			upstream, err := cursorOf(ctx, tx, opts.After)
			if err != nil {
				return err
			}
			upTo = upstream.Seq
			limit = int(min(int64(limit), max(upTo-c.Seq, 0)))
		}
		if limit == 0 {
			return nil
		}
		events, last := nextInLog(opts.Recent, c.Seq, limit)
		if events != nil && !stored(ctx, tx, c.Seq+1, last) {
			events = nil // some are gone (a project or user deleted since): the log decides
		}
		if events == nil {
			if events, last, err = readLog(ctx, tx, c.Seq, upTo, limit); err != nil || len(events) == 0 {
				return err
			}
		}
		if err := fn(ctx, consumerTx{tx: tx, db: db, continued: db.cursors.Continues(consumer, c)}, events); err != nil {
			return err
		}
		n = len(events)
		_, err = tx.ExecContext(ctx, `UPDATE pipeline_cursors SET seq = ?, updated_at = ? WHERE consumer = ?`,
			last, so.Now().UnixMilli(), consumer)
		next = so.Cursor{Seq: last}
		if opts.Span != nil {
			opts.Span.From, opts.Span.To = c, next
		}
		return mapError(err)
	})
	if err == nil && n > 0 {
		db.cursors.Left(consumer, next)
	}
	return n, err
}

// cursorOf reads a consumer's cursor.
func cursorOf(ctx context.Context, tx *stmtTx, consumer string) (so.Cursor, error) {
	var c so.Cursor
	err := tx.QueryRowContext(ctx, `SELECT tx, seq FROM pipeline_cursors WHERE consumer = ?`, consumer).Scan(&c.Tx, &c.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return c, so.ConsumerNotStarted(consumer)
	}
	return c, mapError(err)
}

// nextInLog returns the leading recent events numbered after, after+1, …
// (at most limit), or nil when recent does not start right after the cursor.
func nextInLog(recent []*so.Event, after int64, limit int) ([]*so.Event, int64) {
	n := 0
	for n < len(recent) && n < limit && recent[n].Seq == after+int64(n)+1 {
		n++
	}
	if n == 0 {
		return nil, after
	}
	return recent[:n], after + int64(n)
}

// stored tells whether every seq from first to last is still in the log.
func stored(ctx context.Context, tx *stmtTx, first, last int64) bool {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE seq BETWEEN ? AND ?`, first, last).Scan(&n)
	return err == nil && n == last-first+1
}

// readLog returns up to limit events after seq and up to upTo, in seq order,
// and the last seq.
func readLog(ctx context.Context, tx *stmtTx, after, upTo int64, limit int) ([]*so.Event, int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, `+eventColumns+` FROM events WHERE seq > ? AND seq <= ?
		ORDER BY seq LIMIT ?`, after, upTo, limit)
	if err != nil {
		return nil, 0, mapError(err)
	}
	defer rows.Close()
	var events []*so.Event
	last := after
	for rows.Next() {
		e, err := scanEvent(prefixed{rows, &last})
		if err != nil {
			return nil, 0, err
		}
		e.Seq = last
		events = append(events, e)
	}
	return events, last, mapError(rows.Err())
}

// prefixed scans a leading column into first, then the rest as the wrapped
// scanner's caller expects.
type prefixed struct {
	row   scanner
	first any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append([]any{p.first}, dest...)...) }

// ConsumerLag implements smartonboard.PipelineStore.
func (db *DB) ConsumerLag(ctx context.Context, consumer string, limit int) (so.Cursor, int, error) {
	var c so.Cursor
	err := db.reader.QueryRowContext(ctx, `SELECT tx, seq FROM pipeline_cursors WHERE consumer = ?`, consumer).Scan(&c.Tx, &c.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return c, 0, so.ConsumerNotStarted(consumer)
	} else if err != nil {
		return c, 0, mapError(err)
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	var n int
	err = db.reader.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM events WHERE seq > ? LIMIT ?)`, c.Seq, limit).Scan(&n)
	return c, n, mapError(err)
}

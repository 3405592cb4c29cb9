package postgres

import (
	"context"
	"math"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// announceWriter is how the event log's writers announce themselves: every
// ingestion transaction takes this shared advisory lock (keys "SONB", 1)
// before it writes, so before it has a transaction id, and holds it until it
// ends. Nothing takes it exclusively, so it never blocks anyone.
const announceWriter = `SELECT pg_advisory_xact_lock_shared(1397706306, 1)`

// horizonQuery finds the log's horizon: the lowest transaction id an event
// writer still running holds, capped by the next id to be assigned (a writer
// that has no id yet will get one at least that high). Every event writer
// below it has finished before this statement looked, so a read that starts
// after it sees all of their rows, and a row at or above it waits for a later
// read: a transaction that took lower sequence numbers but commits late is
// never skipped. Unlike the snapshot's xmin, long transactions that write no
// events, and event writers of other databases on the server, do not hold it
// back (advisory locks are per database; transaction ids are server-wide).
// pg_locks shows 32-bit ids; they are widened with the epoch of xmax.
const horizonQuery = `WITH locks AS MATERIALIZED (
		SELECT locktype, database, pid, classid, objid, objsubid, transactionid, mode, granted FROM pg_locks
		WHERE locktype IN ('advisory', 'transactionid')),
	ref AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax),
	writers AS (
		SELECT ((ref.xmax >> 32) << 32) | l.transactionid::text::bigint AS xid FROM locks l, ref
		WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
		AND l.pid IN (SELECT pid FROM locks WHERE locktype = 'advisory' AND classid = 1397706306 AND objid = 1
			AND objsubid = 2 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())))
	SELECT least(ref.xmax, (SELECT min(CASE WHEN xid > ref.xmax THEN xid - 4294967296 ELSE xid END) FROM writers)) FROM ref`

// horizon runs horizonQuery in a statement of its own, so that the read of the
// log after it takes a newer snapshot.
func horizon(ctx context.Context, q querier) (int64, error) {
	var h int64
	err := q.QueryRow(ctx, horizonQuery).Scan(&h)
	return h, mapError(err, "pipeline horizon")
}

// StartConsumer implements smartonboard.PipelineStore: a new cursor stands just
// before the oldest running transaction, so it sees every event that was not
// yet committed when it was created.
func (db *DB) StartConsumer(ctx context.Context, consumer string) error {
	h, err := horizon(ctx, db.pool)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO pipeline_cursors (consumer, tx, seq, updated_at)
		VALUES ($1, $2, $3, now()) ON CONFLICT (consumer) DO NOTHING`, consumer, h-1, int64(math.MaxInt64))
	return mapError(err, "pipeline cursor")
}

// Consume implements smartonboard.PipelineStore. The cursor row is locked for
// the transaction, so a second instance running the same consumer waits and
// then reads on from where the first stopped.
func (db *DB) Consume(ctx context.Context, consumer string, limit int, fn func(context.Context, so.ConsumerTx, []*so.Event) error) (int, error) {
	return db.ConsumeWith(ctx, consumer, so.ConsumeOptions{Limit: limit}, fn)
}

// ConsumeWith implements smartonboard.PipelineStore. Transactions of other
// instances interleave with this one's in the log, so PostgreSQL always
// reads the log and ignores Recent. A follower reads up to its upstream's
// cursor, which is below the horizon already. A Derived consumer commits
// asynchronously: a crash may lose its last transactions, cursor included,
// never one without the other.
func (db *DB) ConsumeWith(ctx context.Context, consumer string, opts so.ConsumeOptions, fn func(context.Context, so.ConsumerTx, []*so.Event) error) (int, error) {
	n := 0
	var next so.Cursor
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if opts.Derived {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return mapError(err, "pipeline")
			}
		}
		c, err := cursorOf(ctx, tx, consumer, "FOR UPDATE")
		if err != nil {
			return err
		}
		bound, err := readBound(ctx, tx, opts.After)
		if err != nil {
			return err
		}
		events, at, last, ok := so.TakeHandoffs(opts.Handed, c, opts.Limit)
		if ok && (!last.AtMost(bound) || !stillLogged(ctx, tx, c, last, len(events))) {
			ok = false // beyond what may be read, or some are gone (a project or user deleted since): the log decides
		}
		if !ok {
			if events, at, err = readLog(ctx, tx, c, bound, opts.Limit); err != nil || len(events) == 0 {
				return err
			}
			last = at[len(at)-1]
		}
		if err := fn(ctx, &consumerTx{tx: tx, db: db, continued: db.cursors.Continues(consumer, c)}, events); err != nil {
			return callerError{err}
		}
		n, next = len(events), last
		if opts.Span != nil {
			opts.Span.From, opts.Span.To, opts.Span.At = c, last, at
		}
		_, err = tx.Exec(ctx, `UPDATE pipeline_cursors SET tx = $2, seq = $3, updated_at = now() WHERE consumer = $1`,
			consumer, last.Tx, last.Seq)
		return mapError(err, "pipeline cursor")
	})
	if err != nil {
		return 0, unwrapCaller(err, "pipeline")
	}
	if n > 0 {
		db.cursors.Left(consumer, next)
	}
	return n, nil
}

// cursorOf reads a consumer's cursor, locking it when lock says so.
func cursorOf(ctx context.Context, tx pgx.Tx, consumer, lock string) (so.Cursor, error) {
	var c so.Cursor
	err := tx.QueryRow(ctx, `SELECT tx, seq FROM pipeline_cursors WHERE consumer = $1 `+lock, consumer).Scan(&c.Tx, &c.Seq)
	if err != nil {
		return c, notFound(err, so.ConsumerNotStarted(consumer), "pipeline cursor")
	}
	return c, nil
}

// readBound is the last place in the log a consumer may read: its upstream's
// cursor, or just below the horizon.
func readBound(ctx context.Context, tx pgx.Tx, after string) (so.Cursor, error) {
	if after != "" {
		return cursorOf(ctx, tx, after, "")
	}
	h, err := horizon(ctx, tx)
	return so.Cursor{Tx: h - 1, Seq: math.MaxInt64}, err
}

// stillLogged tells whether the log holds exactly n events after from and up
// to to: handed-over events whose rows are gone must not be consumed.
func stillLogged(ctx context.Context, tx pgx.Tx, from, to so.Cursor, n int) bool {
	var got int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE (tx, seq) > ($1, $2) AND (tx, seq) <= ($3, $4)`,
		from.Tx, from.Seq, to.Tx, to.Seq).Scan(&got)
	return err == nil && got == n
}

// readLog returns up to limit events after the cursor and at or before the
// bound, in (tx, seq) order, and each one's place in the log.
func readLog(ctx context.Context, tx pgx.Tx, after, bound so.Cursor, limit int) ([]*so.Event, []so.Cursor, error) {
	rows, _ := tx.Query(ctx, `SELECT tx, seq, `+eventColumns+` FROM events
		WHERE (tx, seq) > ($1, $2) AND (tx, seq) <= ($3, $4) ORDER BY tx, seq LIMIT $5`,
		after.Tx, after.Seq, bound.Tx, bound.Seq, limit)
	var at []so.Cursor
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Event, error) {
		var p so.Cursor
		e, err := scanEvent(prefixedRow{row, []any{&p.Tx, &p.Seq}})
		at = append(at, p)
		return e, err
	})
	if err != nil {
		return nil, nil, mapError(err, "events")
	}
	return events, at, nil
}

// prefixedRow scans leading columns into first, then the rest as the wrapped
// row's caller expects.
type prefixedRow struct {
	pgx.CollectableRow
	first []any
}

func (p prefixedRow) Scan(dest ...any) error {
	return p.CollectableRow.Scan(append(append([]any{}, p.first...), dest...)...)
}

// lagQuery counts the events after a cursor, up to a limit. The ORDER BY
// keeps it on the log's index under a generic plan: without it PostgreSQL
// guesses a third of the table matches and scans all of it.
const lagQuery = `SELECT count(*) FROM (SELECT 1 FROM events WHERE (tx, seq) > ($1, $2) ORDER BY tx, seq LIMIT $3) AS beyond`

// ConsumerLag implements smartonboard.PipelineStore.
func (db *DB) ConsumerLag(ctx context.Context, consumer string, limit int) (so.Cursor, int, error) {
	var c so.Cursor
	err := db.pool.QueryRow(ctx, `SELECT tx, seq FROM pipeline_cursors WHERE consumer = $1`, consumer).Scan(&c.Tx, &c.Seq)
	if err != nil {
		return c, 0, notFound(err, so.ConsumerNotStarted(consumer), "pipeline cursor")
	}
	if limit <= 0 {
		limit = math.MaxInt32
	}
	var n int
	err = db.pool.QueryRow(ctx, lagQuery, c.Tx, c.Seq, limit).Scan(&n)
	return c, n, mapError(err, "events")
}

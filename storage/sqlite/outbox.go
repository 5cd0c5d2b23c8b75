package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/wahost/wahost/storage"
)

const outboxCols = `id, instance_id, event, payload, created_at, attempts, next_attempt_at,
	delivered_at, failed_at, last_error, claimed_by, seq, destination`

func scanEvent(row scanner) (storage.OutboxEvent, error) {
	var e storage.OutboxEvent
	var payload string
	var created, next int64
	var delivered, failed, seq sql.NullInt64
	err := row.Scan(&e.ID, &e.InstanceID, &e.Event, &payload, &created, &e.Attempts,
		&next, &delivered, &failed, &e.LastError, &e.ClaimedBy, &seq, &e.Destination)
	if err != nil {
		return storage.OutboxEvent{}, err
	}
	e.Payload = []byte(payload)
	e.CreatedAt, e.NextAttemptAt = fromMicros(created), fromMicros(next)
	e.DeliveredAt, e.FailedAt = nullMicros(delivered), nullMicros(failed)
	e.Seq, e.Stream = seq.Int64, seq.Int64 > 0
	return e, nil
}

// Enqueue adds a webhook to the outbox.
func (o ops) Enqueue(ctx context.Context, ev storage.OutboxEvent) (storage.OutboxEvent, error) {
	out, err := o.enqueue(ctx, ev)
	if err == nil {
		o.hook.Enqueued(o.wrote)
	}
	return out, err
}

func (o ops) enqueue(ctx context.Context, ev storage.OutboxEvent) (storage.OutboxEvent, error) {
	if err := ev.Validate(); err != nil {
		return storage.OutboxEvent{}, err
	}
	if ev.ID == "" {
		ev.ID = storage.NewID()
	}
	now := o.stamp()
	next := now
	if !ev.NextAttemptAt.IsZero() {
		next = micros(ev.NextAttemptAt)
	}
	if ev.Stream {
		out, err := scanEvent(o.w.queryRow(ctx, `INSERT INTO wahost_outbox
			(id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, coalesce((SELECT max(seq) FROM wahost_outbox WHERE seq IS NOT NULL), 0) + 1) RETURNING `+outboxCols,
			ev.ID, ev.InstanceID, ev.Event, string(ev.Payload), now, now, now))
		return out, wrapErr("enqueue "+ev.Event, err)
	}
	out, err := scanEvent(o.w.queryRow(ctx, `INSERT INTO wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, destination)
	VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+outboxCols,
		ev.ID, ev.InstanceID, ev.Event, string(ev.Payload), now, next, ev.Destination))
	return out, wrapErr("enqueue "+ev.Event, err)
}

// Claim leases up to n due events to worker. SQLite has no row locks; the
// single UPDATE … RETURNING takes the database's write lock before it
// reads, so it selects and claims the rows atomically: concurrent claims in
// this process queue on the writer connection, those of other processes on
// the lock. Broker rows keep the order of their lane as in PostgreSQL
// (see storage.Store.Claim).
func (o ops) Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]storage.OutboxEvent, error) {
	if err := checkClaim(worker, n, lease); err != nil {
		return nil, err
	}
	now := o.now()
	// As in PostgreSQL: a broker row with an earlier pending row of its
	// lane that stays behind (due but not in the window, or leased to
	// another worker) is not claimed, and one behind a due row moves just
	// after it, so that the next window takes them in order.
	const window = `WITH cand AS (
		SELECT id, instance_id, destination FROM wahost_outbox
		WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?3
		ORDER BY next_attempt_at, id
		LIMIT ?4
	), behind AS (
		SELECT c.id,
			(SELECT max(p.next_attempt_at) FROM wahost_outbox p
			WHERE p.instance_id = c.instance_id AND p.destination = c.destination
				AND p.destination <> '' AND p.id < c.id AND p.delivered_at IS NULL AND p.failed_at IS NULL
				AND p.next_attempt_at <= ?3 AND p.id NOT IN (SELECT id FROM cand)) AS after,
			EXISTS (SELECT 1 FROM wahost_outbox p
			WHERE p.instance_id = c.instance_id AND p.destination = c.destination
				AND p.destination <> '' AND p.id < c.id AND p.delivered_at IS NULL AND p.failed_at IS NULL
				AND p.next_attempt_at > ?3 AND p.claimed_by <> ?2) AS leased
		FROM cand c WHERE c.destination <> ''
	)`
	rows, err := o.w.query(ctx, window+`
	UPDATE wahost_outbox
	SET attempts = attempts + 1, next_attempt_at = ?1, claimed_by = ?2
	WHERE id IN (SELECT id FROM cand WHERE id NOT IN (SELECT id FROM behind WHERE after IS NOT NULL OR leased))
	RETURNING `+outboxCols,
		micros(now.Add(lease)), worker, micros(now), n)
	if err != nil {
		return nil, wrapErr("claim", err)
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, wrapErr("claim", err)
	}
	if len(out) < n {
		// A short claim may have left rows behind: move them after the
		// rows they wait for, in a second statement that only a short
		// claim pays for.
		if _, err := o.w.exec(ctx, window+`
		UPDATE wahost_outbox SET next_attempt_at = (SELECT after + 1 FROM behind b WHERE b.id = wahost_outbox.id)
		WHERE id IN (SELECT id FROM behind WHERE after IS NOT NULL)`,
			micros(now.Add(lease)), worker, micros(now), n); err != nil {
			return nil, wrapErr("claim", err)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func checkClaim(worker string, n int, lease time.Duration) error {
	if err := storage.ValidateOwner("worker", worker); err != nil {
		return err
	}
	if n < 1 || n > storage.MaxPage {
		return &storage.InputError{Field: "n", Reason: "must be 1..1000"}
	}
	if lease <= 0 {
		return &storage.InputError{Field: "lease", Reason: "must be positive"}
	}
	return nil
}

// MarkDelivered records a delivery.
func (o ops) MarkDelivered(ctx context.Context, id string) error {
	return o.mark(ctx, "mark delivered", id, `UPDATE wahost_outbox
	SET delivered_at = ?, failed_at = NULL, last_error = '' WHERE id = ? AND delivered_at IS NULL`, o.stamp())
}

// MarkRetry makes a pending event due again at next.
func (o ops) MarkRetry(ctx context.Context, id string, next time.Time, lastErr string) error {
	if err := checkError(lastErr); err != nil {
		return err
	}
	return o.mark(ctx, "mark retry", id, `UPDATE wahost_outbox SET next_attempt_at = ?, last_error = ?
	WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL`, micros(next), lastErr)
}

// MarkFailed gives up on a pending event.
func (o ops) MarkFailed(ctx context.Context, id string, lastErr string) error {
	if err := checkError(lastErr); err != nil {
		return err
	}
	return o.mark(ctx, "mark failed", id, `UPDATE wahost_outbox SET failed_at = ?, last_error = ?
	WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL`, o.stamp(), lastErr)
}

// Requeue makes a failed event due now with its attempts reset.
func (o ops) Requeue(ctx context.Context, id string) error {
	return o.mark(ctx, "requeue", id, `UPDATE wahost_outbox
	SET failed_at = NULL, attempts = 0, next_attempt_at = ?, claimed_by = ''
	WHERE id = ? AND failed_at IS NOT NULL`, o.stamp())
}

// mark runs a state change on one event; args precede the id in q. A
// change that does not apply to the event's state is a no-op, a missing
// event is ErrNotFound.
func (o ops) mark(ctx context.Context, op, id, q string, args ...any) error {
	if err := storage.ValidateID("event id", id); err != nil {
		return err
	}
	res, err := o.w.exec(ctx, q, append(args, id)...)
	if err != nil {
		return wrapErr(op, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	err = o.w.queryRow(ctx, "SELECT 1 FROM wahost_outbox WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.NotFound("outbox event", id)
	}
	return wrapErr(op, err)
}

func checkError(lastErr string) error {
	return storage.ValidateText("last_error", lastErr, storage.MaxTextBytes)
}

// OutboxEvent returns one event.
func (o ops) OutboxEvent(ctx context.Context, id string) (storage.OutboxEvent, error) {
	if err := storage.ValidateID("event id", id); err != nil {
		return storage.OutboxEvent{}, err
	}
	ev, err := scanEvent(o.r.queryRow(ctx, "SELECT "+outboxCols+" FROM wahost_outbox WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.OutboxEvent{}, storage.NotFound("outbox event", id)
	}
	return ev, wrapErr("get outbox event", err)
}

// FailedEvents returns failed events newest first.
func (o ops) FailedEvents(ctx context.Context, instanceID string, limit int) ([]storage.OutboxEvent, error) {
	q := "SELECT " + outboxCols + " FROM wahost_outbox WHERE failed_at IS NOT NULL"
	var args []any
	if instanceID != "" {
		if err := storage.ValidateID("instance id", instanceID); err != nil {
			return nil, err
		}
		q += " AND instance_id = ?"
		args = append(args, instanceID)
	}
	rows, err := o.r.query(ctx, q+" ORDER BY failed_at DESC, id DESC LIMIT ?", append(args, clampLimit(limit))...)
	if err != nil {
		return nil, wrapErr("failed events", err)
	}
	out, err := collect(rows, scanEvent)
	return out, wrapErr("failed events", err)
}

// PruneDelivered deletes events delivered before before, except the
// stream entry with the highest seq: the next entry's seq is one above it.
func (o ops) PruneDelivered(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := storage.ValidateLimit(limit); err != nil {
		return 0, err
	}
	res, err := o.w.exec(ctx, `DELETE FROM wahost_outbox WHERE id IN (
		SELECT id FROM wahost_outbox WHERE delivered_at < ?
		AND (seq IS NULL OR seq < (SELECT max(seq) FROM wahost_outbox WHERE seq IS NOT NULL))
		ORDER BY delivered_at LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, wrapErr("prune outbox", err)
	}
	return res.RowsAffected()
}

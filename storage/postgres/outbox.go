package postgres

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

const outboxCols = `id::text, instance_id::text, event, payload, created_at, attempts, next_attempt_at,
	delivered_at, failed_at, last_error, claimed_by, seq, destination`

func scanEvent(row pgx.Row) (storage.OutboxEvent, error) {
	var e storage.OutboxEvent
	var payload []byte
	var seq *int64
	err := row.Scan(&e.ID, &e.InstanceID, &e.Event, &payload, &e.CreatedAt, &e.Attempts,
		&e.NextAttemptAt, &e.DeliveredAt, &e.FailedAt, &e.LastError, &e.ClaimedBy, &seq, &e.Destination)
	if err != nil {
		return storage.OutboxEvent{}, err
	}
	e.Payload = payload
	if seq != nil {
		e.Seq, e.Stream = max(*seq, 0), true // a pending key reads as 0
	}
	e.CreatedAt = storage.Timestamp(e.CreatedAt)
	e.NextAttemptAt = storage.Timestamp(e.NextAttemptAt)
	e.DeliveredAt, e.FailedAt = utc(e.DeliveredAt), utc(e.FailedAt)
	return e, nil
}

func collectEvents(rows pgx.Rows) ([]storage.OutboxEvent, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.OutboxEvent, error) {
		return scanEvent(r)
	})
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
		next = storage.Timestamp(ev.NextAttemptAt)
	}
	if o.outbox != nil {
		return o.deferEnqueue(ev, now, next), nil
	}
	if ev.Stream {
		return o.enqueueStream(ctx, ev, now)
	}
	out, err := scanEvent(o.q.QueryRow(ctx, `INSERT INTO wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, destination)
	VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+outboxCols,
		ev.ID, ev.InstanceID, ev.Event, string(ev.Payload), now, next, ev.Destination))
	return out, wrapErr("enqueue "+ev.Event, err)
}

// Claim leases up to n due events to worker. FOR UPDATE SKIP LOCKED lets
// concurrent claimers pass over each other's rows, and PostgreSQL re-checks
// the WHERE clause on a row locked after a concurrent claim committed, so
// a row is never handed out twice while its lease runs.
//
// A broker row (one with a destination) is published in order with the
// earlier rows of its instance and destination, its lane: it is claimed
// only when every earlier pending row of the lane is claimed with it or
// leased to worker already (see storage.Store.Claim). The lane checks run
// on the claim's window only: in the window's WHERE clause they made
// every claim of a large backlog several times slower.
func (o ops) Claim(ctx context.Context, worker string, n int, lease time.Duration) ([]storage.OutboxEvent, error) {
	if err := checkClaim(worker, n, lease); err != nil {
		return nil, err
	}
	now := o.stamp()
	// cand is the oldest due rows; due drops a broker row with an earlier
	// pending row of its lane that stays behind (due but not in cand, or
	// leased to another worker); bumped moves a row dropped behind a due
	// row just after it, so that the next claim's window takes them in
	// order instead of finding the same rows again. behind reads each
	// candidate's earlier pending rows once, in the order of
	// wahost_outbox_lane so that the planner takes that index: on a young
	// table without statistics it took wahost_outbox_due instead, and
	// scanned the due rows of every lane for each candidate.
	rows, err := o.q.Query(ctx, `WITH cand AS (
		SELECT id, instance_id, destination FROM wahost_outbox
		WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
		ORDER BY next_attempt_at, id
		LIMIT $2
		FOR UPDATE SKIP LOCKED
	), behind AS (
		SELECT c.id, l.after, l.leased FROM cand c, LATERAL (
			SELECT max(p.next_attempt_at) FILTER (
					WHERE p.next_attempt_at <= $1 AND p.id NOT IN (SELECT id FROM cand)) AS after,
				coalesce(bool_or(p.next_attempt_at > $1 AND p.claimed_by <> $4), false) AS leased
			FROM (SELECT p.id, p.next_attempt_at, p.claimed_by FROM wahost_outbox p
				WHERE p.instance_id = c.instance_id AND p.destination = c.destination
					AND p.destination <> '' AND p.id < c.id AND p.delivered_at IS NULL AND p.failed_at IS NULL
				ORDER BY p.instance_id, p.destination, p.id) p
		) l
		WHERE c.destination <> ''
	), bumped AS (
		UPDATE wahost_outbox o SET next_attempt_at = b.after + interval '1 microsecond'
		FROM behind b WHERE o.id = b.id AND b.after IS NOT NULL AND o.next_attempt_at <= b.after
	), due AS (
		SELECT id FROM cand
		WHERE id NOT IN (SELECT id FROM behind WHERE after IS NOT NULL OR leased)
	)
	UPDATE wahost_outbox o SET attempts = o.attempts + 1, next_attempt_at = $3, claimed_by = $4
	FROM due WHERE o.id = due.id
	RETURNING `+prefixed("o.", outboxCols),
		now, n, storage.Timestamp(now.Add(lease)), worker)
	if err != nil {
		return nil, wrapErr("claim", err)
	}
	out, err := collectEvents(rows)
	if err != nil {
		return nil, wrapErr("claim", err)
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
	SET delivered_at = $2, failed_at = NULL, last_error = '' WHERE id = $1 AND delivered_at IS NULL`, o.stamp())
}

// MarkDeliveredMany records the deliveries of ids in one statement.
func (o ops) MarkDeliveredMany(ctx context.Context, ids []string) error {
	if err := checkIDs(ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := o.q.Exec(ctx, `UPDATE wahost_outbox SET delivered_at = $2, failed_at = NULL, last_error = ''
	WHERE id = ANY($1::uuid[]) AND delivered_at IS NULL`, ids, o.stamp())
	return wrapErr("mark delivered", err)
}

func checkIDs(ids []string) error {
	if len(ids) > storage.MaxPage {
		return &storage.InputError{Field: "ids", Reason: "at most 1000 at once"}
	}
	for _, id := range ids {
		if err := storage.ValidateID("event id", id); err != nil {
			return err
		}
	}
	return nil
}

// MarkRetry makes a pending event due again at next.
func (o ops) MarkRetry(ctx context.Context, id string, next time.Time, lastErr string) error {
	if err := checkError(lastErr); err != nil {
		return err
	}
	return o.mark(ctx, "mark retry", id, `UPDATE wahost_outbox SET next_attempt_at = $2, last_error = $3
	WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NULL`, storage.Timestamp(next), lastErr)
}

// MarkFailed gives up on a pending event.
func (o ops) MarkFailed(ctx context.Context, id string, lastErr string) error {
	if err := checkError(lastErr); err != nil {
		return err
	}
	return o.mark(ctx, "mark failed", id, `UPDATE wahost_outbox SET failed_at = $2, last_error = $3
	WHERE id = $1 AND delivered_at IS NULL AND failed_at IS NULL`, o.stamp(), lastErr)
}

// Requeue makes a failed event due now with its attempts reset.
func (o ops) Requeue(ctx context.Context, id string) error {
	return o.mark(ctx, "requeue", id, `UPDATE wahost_outbox
	SET failed_at = NULL, attempts = 0, next_attempt_at = $2, claimed_by = ''
	WHERE id = $1 AND failed_at IS NOT NULL`, o.stamp())
}

// mark runs a state change on one event; a change that does not apply to
// the event's state is a no-op, a missing event is ErrNotFound.
func (o ops) mark(ctx context.Context, op, id, q string, args ...any) error {
	if err := storage.ValidateID("event id", id); err != nil {
		return err
	}
	tag, err := o.q.Exec(ctx, q, append([]any{id}, args...)...)
	if err != nil {
		return wrapErr(op, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var one int
	err = o.q.QueryRow(ctx, "SELECT 1 FROM wahost_outbox WHERE id = $1", id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
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
	ev, err := scanEvent(o.q.QueryRow(ctx, "SELECT "+outboxCols+" FROM wahost_outbox WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.OutboxEvent{}, storage.NotFound("outbox event", id)
	}
	return ev, wrapErr("get outbox event", err)
}

// FailedEvents returns failed events newest first.
func (o ops) FailedEvents(ctx context.Context, instanceID string, limit int) ([]storage.OutboxEvent, error) {
	q := "SELECT " + outboxCols + " FROM wahost_outbox WHERE failed_at IS NOT NULL"
	args := []any{clampLimit(limit)}
	if instanceID != "" {
		if err := storage.ValidateID("instance id", instanceID); err != nil {
			return nil, err
		}
		q += " AND instance_id = $2"
		args = append(args, instanceID)
	}
	rows, err := o.q.Query(ctx, q+" ORDER BY failed_at DESC, id DESC LIMIT $1", args...)
	if err != nil {
		return nil, wrapErr("failed events", err)
	}
	out, err := collectEvents(rows)
	return out, wrapErr("failed events", err)
}

// PruneDelivered deletes events delivered before before, except the
// stream entry with the highest seq, so EventBounds always tells a reader
// how far the stream went. It numbers the pending stream entries first: an
// entry pruned without a number would leave a reader resuming before it
// no gap to see.
func (o ops) PruneDelivered(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := storage.ValidateLimit(limit); err != nil {
		return 0, err
	}
	if err := o.numberPending(ctx, true); err != nil {
		return 0, err
	}
	tag, err := o.q.Exec(ctx, `DELETE FROM wahost_outbox WHERE id IN (
		SELECT id FROM wahost_outbox WHERE delivered_at < $1
		AND (seq IS NULL OR seq > 0 AND seq < (SELECT max(seq) FROM wahost_outbox))
		ORDER BY delivered_at LIMIT $2)`, storage.Timestamp(before), limit)
	if err != nil {
		return 0, wrapErr("prune outbox", err)
	}
	return tag.RowsAffected(), nil
}

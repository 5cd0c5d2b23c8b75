package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// A stream entry's seq must follow commit order: a reader that has seen
// seq n must never later find a committed entry below n. A sequence would
// number entries when they are inserted, and two units of work can commit
// in the other order. So an entry is inserted without a seq; just before
// the commit its unit of work takes the next numbers from wahost_event_seq,
// whose row lock it then holds until the commit ends: the next unit of
// work that wrote entries waits for it there, as the last thing it does.

// enqueueStream stores a stream entry: inside a unit of work without its
// seq, numbered by assignSeqs before the commit; alone, numbered in the
// same statement.
func (o ops) enqueueStream(ctx context.Context, ev storage.OutboxEvent, now time.Time) (storage.OutboxEvent, error) {
	const insert = `INSERT INTO wahost_outbox
		(id, instance_id, event, payload, created_at, next_attempt_at, delivered_at, seq)`
	if o.stream != nil {
		out, err := scanEvent(o.q.QueryRow(ctx, insert+` VALUES ($1, $2, $3, $4, $5, $5, $5, NULL)
		RETURNING `+outboxCols, ev.ID, ev.InstanceID, ev.Event, string(ev.Payload), now))
		if err != nil {
			return out, wrapErr("enqueue "+ev.Event, err)
		}
		*o.stream = append(*o.stream, out.ID)
		out.Stream = true
		return out, nil
	}
	out, err := scanEvent(o.q.QueryRow(ctx, `WITH n AS (UPDATE wahost_event_seq SET last = last + 1 RETURNING last)
	`+insert+` SELECT $1, $2, $3, $4, $5, $5, $5, n.last FROM n RETURNING `+outboxCols,
		ev.ID, ev.InstanceID, ev.Event, string(ev.Payload), now))
	return out, wrapErr("enqueue "+ev.Event, err)
}

// assignSeqs numbers the stream entries of a unit of work in the order
// they were enqueued; run it last, right before the commit.
func assignSeqs(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `WITH c AS (UPDATE wahost_event_seq SET last = last + $1 RETURNING last)
	UPDATE wahost_outbox o SET seq = c.last - $1 + u.n
	FROM c, unnest($2::uuid[]) WITH ORDINALITY AS u(id, n) WHERE o.id = u.id`, len(ids), ids)
	if err != nil {
		return wrapErr("number events", err)
	}
	if tag.RowsAffected() != int64(len(ids)) {
		return fmt.Errorf("postgres: number events: %d of %d entries found", tag.RowsAffected(), len(ids))
	}
	return nil
}

// EventsAfter returns stream entries above after, in seq order.
func (o ops) EventsAfter(ctx context.Context, after int64, f storage.EventFilter, limit int) ([]storage.OutboxEvent, error) {
	q := "SELECT " + outboxCols + " FROM wahost_outbox WHERE seq > $1"
	args := []any{after, clampLimit(limit)}
	if f.InstanceID != "" {
		if err := storage.ValidateID("instance id", f.InstanceID); err != nil {
			return nil, err
		}
		args = append(args, f.InstanceID)
		q += fmt.Sprintf(" AND instance_id = $%d", len(args))
	}
	if len(f.Events) > 0 {
		args = append(args, f.Events)
		q += fmt.Sprintf(" AND event = ANY($%d)", len(args))
	}
	rows, err := o.q.Query(ctx, q+" ORDER BY seq LIMIT $2", args...)
	if err != nil {
		return nil, wrapErr("events after", err)
	}
	out, err := collectEvents(rows)
	return out, wrapErr("events after", err)
}

// EventBounds returns the lowest and highest seq stored.
func (o ops) EventBounds(ctx context.Context) (first, last int64, err error) {
	err = o.q.QueryRow(ctx, "SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM wahost_outbox").Scan(&first, &last)
	return first, last, wrapErr("event bounds", err)
}

// InstanceDeliveries returns an instance's webhook deliveries newest first.
func (o ops) InstanceDeliveries(ctx context.Context, instanceID string, limit int) ([]storage.OutboxEvent, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	rows, err := o.q.Query(ctx, "SELECT "+outboxCols+` FROM wahost_outbox
	WHERE instance_id = $1 AND seq IS NULL ORDER BY created_at DESC, id DESC LIMIT $2`, instanceID, clampLimit(limit))
	if err != nil {
		return nil, wrapErr("instance deliveries", err)
	}
	out, err := collectEvents(rows)
	return out, wrapErr("instance deliveries", err)
}

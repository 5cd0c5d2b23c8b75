package sqlite

import (
	"context"
	"strings"

	"github.com/wahost/wahost/storage"
)

// EventsAfter returns stream entries above after, in seq order.
func (o ops) EventsAfter(ctx context.Context, after int64, f storage.EventFilter, limit int) ([]storage.OutboxEvent, error) {
	q := "SELECT " + outboxCols + " FROM wahost_outbox WHERE seq > ?"
	args := []any{after}
	if f.InstanceID != "" {
		if err := storage.ValidateID("instance id", f.InstanceID); err != nil {
			return nil, err
		}
		q += " AND instance_id = ?"
		args = append(args, f.InstanceID)
	}
	if len(f.Events) > 0 {
		q += " AND event IN (?" + strings.Repeat(", ?", len(f.Events)-1) + ")"
		for _, ev := range f.Events {
			args = append(args, ev)
		}
	}
	rows, err := o.r.query(ctx, q+" ORDER BY seq LIMIT ?", append(args, clampLimit(limit))...)
	if err != nil {
		return nil, wrapErr("events after", err)
	}
	out, err := collect(rows, scanEvent)
	return out, wrapErr("events after", err)
}

// EventBounds returns the lowest and highest seq stored.
func (o ops) EventBounds(ctx context.Context) (first, last int64, err error) {
	err = o.r.queryRow(ctx, `SELECT coalesce((SELECT min(seq) FROM wahost_outbox WHERE seq IS NOT NULL), 0),
	coalesce((SELECT max(seq) FROM wahost_outbox WHERE seq IS NOT NULL), 0)`).Scan(&first, &last)
	return first, last, wrapErr("event bounds", err)
}

// InstanceDeliveries returns an instance's webhook deliveries newest first.
func (o ops) InstanceDeliveries(ctx context.Context, instanceID string, limit int) ([]storage.OutboxEvent, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	rows, err := o.r.query(ctx, "SELECT "+outboxCols+` FROM wahost_outbox
	WHERE instance_id = ? AND seq IS NULL ORDER BY created_at DESC, id DESC LIMIT ?`, instanceID, clampLimit(limit))
	if err != nil {
		return nil, wrapErr("instance deliveries", err)
	}
	out, err := collect(rows, scanEvent)
	return out, wrapErr("instance deliveries", err)
}

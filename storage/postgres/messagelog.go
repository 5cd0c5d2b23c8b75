package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// Message returns one message.
func (o ops) Message(ctx context.Context, instanceID, id string) (storage.Message, error) {
	if err := errors.Join(storage.ValidateID("instance id", instanceID),
		storage.ValidateMessageKey("message id", id)); err != nil {
		return storage.Message{}, err
	}
	m, err := scanMessage(o.q.QueryRow(ctx,
		"SELECT "+messageCols+" FROM wahost_messages WHERE instance_id = $1 AND id = $2", instanceID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Message{}, storage.NotFound("message", id)
	}
	return m, wrapErr("get message", err)
}

// MessageByIdempotencyKey returns the message accepted with key.
func (o ops) MessageByIdempotencyKey(ctx context.Context, instanceID, key string) (storage.Message, error) {
	if err := errors.Join(storage.ValidateID("instance id", instanceID),
		storage.ValidateMessageKey("idempotency key", key)); err != nil {
		return storage.Message{}, err
	}
	m, err := scanMessage(o.q.QueryRow(ctx, "SELECT "+messageCols+
		" FROM wahost_messages WHERE instance_id = $1 AND idempotency_key = $2", instanceID, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Message{}, storage.NotFound("message with idempotency key", key)
	}
	return m, wrapErr("get message by idempotency key", err)
}

// QueuedMessages returns up to limit queued messages in Seq order.
func (o ops) QueuedMessages(ctx context.Context, instanceID string, limit int) ([]storage.Message, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	return o.messages(ctx, "queued messages", "SELECT "+messageCols+
		" FROM wahost_messages WHERE instance_id = $1 AND status = 'queued' ORDER BY seq LIMIT $2",
		instanceID, clampLimit(limit))
}

// InstancesWithQueued returns the instances with queued messages.
func (o ops) InstancesWithQueued(ctx context.Context) ([]string, error) {
	rows, err := o.q.Query(ctx,
		"SELECT DISTINCT instance_id::text FROM wahost_messages WHERE status = 'queued' ORDER BY 1")
	if err != nil {
		return nil, wrapErr("instances with queued messages", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, wrapErr("instances with queued messages", err)
}

// ExpiredMessages returns up to limit queued messages expired at now.
func (o ops) ExpiredMessages(ctx context.Context, now time.Time, limit int) ([]storage.Message, error) {
	return o.messages(ctx, "expired messages", "SELECT "+messageCols+` FROM wahost_messages
	WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= $1
	ORDER BY expires_at, seq LIMIT $2`, storage.Timestamp(now), clampLimit(limit))
}

// ListMessages pages through an instance's messages newest first.
func (o ops) ListMessages(ctx context.Context, q storage.MessageQuery) ([]storage.Message, error) {
	if err := storage.ValidateID("instance id", q.InstanceID); err != nil {
		return nil, err
	}
	var b strings.Builder
	args := []any{q.InstanceID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	b.WriteString("SELECT " + messageCols + " FROM wahost_messages WHERE instance_id = $1")
	if q.Chat != "" {
		b.WriteString(" AND chat = " + arg(q.Chat))
	}
	if q.FromMe != nil {
		b.WriteString(" AND from_me = " + arg(*q.FromMe))
	}
	switch {
	case !q.Before.IsZero() && q.BeforeSeq > 0:
		b.WriteString(" AND (sort_at, seq) < (" + arg(storage.Timestamp(q.Before)) + ", " + arg(q.BeforeSeq) + ")")
	case !q.Before.IsZero():
		b.WriteString(" AND sort_at < " + arg(storage.Timestamp(q.Before)))
	}
	if !q.Since.IsZero() {
		b.WriteString(" AND sort_at >= " + arg(storage.Timestamp(q.Since)))
	}
	b.WriteString(" ORDER BY sort_at DESC, seq DESC LIMIT " + arg(clampLimit(q.Limit)))
	return o.messages(ctx, "list messages", b.String(), args...)
}

func (o ops) messages(ctx context.Context, op, q string, args ...any) ([]storage.Message, error) {
	rows, err := o.q.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	out, err := collectMessages(rows)
	return out, wrapErr(op, err)
}

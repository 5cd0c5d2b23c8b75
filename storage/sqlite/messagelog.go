package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/wahost/wahost/storage"
)

// Message returns one message.
func (o ops) Message(ctx context.Context, instanceID, id string) (storage.Message, error) {
	if err := errors.Join(storage.ValidateID("instance id", instanceID),
		storage.ValidateMessageKey("message id", id)); err != nil {
		return storage.Message{}, err
	}
	m, err := scanMessage(o.r.queryRow(ctx,
		"SELECT "+messageCols+" FROM wahost_messages WHERE instance_id = ? AND id = ?", instanceID, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	m, err := scanMessage(o.r.queryRow(ctx, "SELECT "+messageCols+
		" FROM wahost_messages WHERE instance_id = ? AND idempotency_key = ?", instanceID, key))
	if errors.Is(err, sql.ErrNoRows) {
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
		" FROM wahost_messages WHERE instance_id = ? AND status = 'queued' ORDER BY seq LIMIT ?",
		instanceID, clampLimit(limit))
}

// InstancesWithQueued returns the instances with queued messages.
func (o ops) InstancesWithQueued(ctx context.Context) ([]string, error) {
	rows, err := o.r.query(ctx,
		"SELECT DISTINCT instance_id FROM wahost_messages WHERE status = 'queued' ORDER BY instance_id")
	if err != nil {
		return nil, wrapErr("instances with queued messages", err)
	}
	out, err := collect(rows, func(r scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	return out, wrapErr("instances with queued messages", err)
}

// ExpiredMessages returns up to limit queued messages expired at now.
func (o ops) ExpiredMessages(ctx context.Context, now time.Time, limit int) ([]storage.Message, error) {
	return o.messages(ctx, "expired messages", "SELECT "+messageCols+` FROM wahost_messages
	WHERE status = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?
	ORDER BY expires_at, seq LIMIT ?`, micros(now), clampLimit(limit))
}

// ListMessages pages through an instance's messages newest first.
func (o ops) ListMessages(ctx context.Context, q storage.MessageQuery) ([]storage.Message, error) {
	if err := storage.ValidateID("instance id", q.InstanceID); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("SELECT " + messageCols + " FROM wahost_messages WHERE instance_id = ?")
	args := []any{q.InstanceID}
	if q.Chat != "" {
		b.WriteString(" AND chat = ?")
		args = append(args, q.Chat)
	}
	if q.FromMe != nil {
		b.WriteString(" AND from_me = ?")
		args = append(args, *q.FromMe)
	}
	switch {
	case !q.Before.IsZero() && q.BeforeSeq > 0:
		b.WriteString(" AND (sort_at, seq) < (?, ?)")
		args = append(args, micros(q.Before), q.BeforeSeq)
	case !q.Before.IsZero():
		b.WriteString(" AND sort_at < ?")
		args = append(args, micros(q.Before))
	}
	if !q.Since.IsZero() {
		b.WriteString(" AND sort_at >= ?")
		args = append(args, micros(q.Since))
	}
	b.WriteString(" ORDER BY sort_at DESC, seq DESC LIMIT ?")
	return o.messages(ctx, "list messages", b.String(), append(args, clampLimit(q.Limit))...)
}

func (o ops) messages(ctx context.Context, op, q string, args ...any) ([]storage.Message, error) {
	rows, err := o.r.query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	out, err := collect(rows, scanMessage)
	return out, wrapErr(op, err)
}

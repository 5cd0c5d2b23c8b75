package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wahost/wahost/storage"
)

const messageCols = `instance_id, id, chat, sender, from_me, type, status, reason, payload, idempotency_key,
	seq, attempts, next_attempt_at, expires_at, ts, created_at, updated_at`

// rankExpr is storage.MessageStatus.Rank of the status column.
var rankExpr = func() string {
	var b strings.Builder
	b.WriteString("CASE status")
	for _, s := range storage.MessageStatuses() {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", s, s.Rank())
	}
	b.WriteString(" ELSE -1 END")
	return b.String()
}()

func scanMessage(row scanner) (storage.Message, error) {
	var m storage.Message
	var payload, key sql.NullString
	var next, expires, ts sql.NullInt64
	var created, updated int64
	err := row.Scan(&m.InstanceID, &m.ID, &m.Chat, &m.Sender, &m.FromMe, &m.Type, &m.Status, &m.Reason,
		&payload, &key, &m.Seq, &m.Attempts, &next, &expires, &ts, &created, &updated)
	if err != nil {
		return storage.Message{}, err
	}
	m.Payload = jsonOut(payload)
	m.IdempotencyKey = key.String
	m.NextAttemptAt, m.ExpiresAt, m.Timestamp = optMicros(next), optMicros(expires), optMicros(ts)
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, nil
}

// optMicros converts a nullable stored time, the zero time for NULL.
func optMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// optArg passes the zero time as SQL NULL.
func optArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

// textArg passes an empty string as SQL NULL.
func textArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertMessage stores a new message. ON CONFLICT DO NOTHING turns a
// duplicate id or idempotency key into no row rather than an error.
func (o ops) InsertMessage(ctx context.Context, m storage.Message) (storage.Message, error) {
	if err := m.Validate(); err != nil {
		return storage.Message{}, err
	}
	now := o.stamp()
	next := optArg(m.NextAttemptAt)
	if m.Status == storage.MessageQueued && next == nil {
		next = now
	}
	out, err := scanMessage(o.w.queryRow(ctx, `INSERT INTO wahost_messages (
		instance_id, id, chat, sender, from_me, type, status, reason, payload, idempotency_key,
		attempts, next_attempt_at, expires_at, ts, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT DO NOTHING
	RETURNING `+messageCols,
		m.InstanceID, m.ID, m.Chat, m.Sender, m.FromMe, m.Type, m.Status, m.Reason, jsonArg(m.Payload),
		textArg(m.IdempotencyKey), m.Attempts, next, optArg(m.ExpiresAt), optArg(m.Timestamp), now, now))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Message{}, fmt.Errorf("sqlite: insert message %s of instance %s: %w",
			m.ID, m.InstanceID, storage.ErrDuplicateMessage)
	}
	return out, wrapErr("insert message "+m.ID+" of instance "+m.InstanceID, err)
}

// SetMessageStatus moves a message forward. The rank check is part of the
// UPDATE, so a late receipt racing a newer one cannot move it back.
func (o ops) SetMessageStatus(ctx context.Context, instanceID, id string, status storage.MessageStatus,
	reason string, ts time.Time) (storage.Message, bool, error) {
	if err := checkStatusChange(instanceID, id, status, reason); err != nil {
		return storage.Message{}, false, err
	}
	below := status.Rank()
	if status == storage.MessageFailed {
		below = storage.MessageDelivered.Rank() // queued or sent only
	}
	out, err := scanMessage(o.w.queryRow(ctx, `UPDATE wahost_messages
	SET status = ?, reason = ?, ts = COALESCE(?, ts), updated_at = ?
	WHERE instance_id = ? AND id = ? AND `+rankExpr+` < ?
	RETURNING `+messageCols,
		status, reason, optArg(ts), o.stamp(), instanceID, id, below))
	if err == nil {
		return out, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return storage.Message{}, false, wrapErr("set message status", err)
	}
	cur, err := o.Message(ctx, instanceID, id)
	return cur, false, err
}

func checkStatusChange(instanceID, id string, status storage.MessageStatus, reason string) error {
	return errors.Join(
		storage.ValidateID("instance id", instanceID),
		storage.ValidateMessageKey("message id", id),
		storage.ValidateMessageStatus(status),
		storage.ValidateText("reason", reason, storage.MaxTextBytes),
	)
}

// FailQueuedMessages fails every queued message of the instance.
func (o ops) FailQueuedMessages(ctx context.Context, instanceID, reason string) ([]storage.Message, error) {
	if err := errors.Join(storage.ValidateID("instance id", instanceID),
		storage.ValidateText("reason", reason, storage.MaxTextBytes)); err != nil {
		return nil, err
	}
	rows, err := o.w.query(ctx, `UPDATE wahost_messages SET status = 'failed', reason = ?, updated_at = ?
	WHERE instance_id = ? AND status = 'queued'
	RETURNING `+messageCols, reason, o.stamp(), instanceID)
	if err != nil {
		return nil, wrapErr("fail queued messages", err)
	}
	out, err := collect(rows, scanMessage)
	if err != nil {
		return nil, wrapErr("fail queued messages", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// RetryMessage makes a queued message due again at next.
func (o ops) RetryMessage(ctx context.Context, instanceID, id string, next time.Time, lastErr string) error {
	if err := errors.Join(storage.ValidateID("instance id", instanceID), storage.ValidateMessageKey("message id", id),
		checkError(lastErr)); err != nil {
		return err
	}
	res, err := o.w.exec(ctx, `UPDATE wahost_messages
	SET attempts = attempts + 1, next_attempt_at = ?, reason = ?, updated_at = ?
	WHERE instance_id = ? AND id = ? AND status = 'queued'`,
		micros(next), lastErr, o.stamp(), instanceID, id)
	if err != nil {
		return wrapErr("retry message", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	_, err = o.Message(ctx, instanceID, id)
	return err
}

// PruneMessages deletes up to limit messages created before before that
// are no longer queued.
func (o ops) PruneMessages(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit < 1 || limit > storage.MaxPage {
		return 0, &storage.InputError{Field: "limit", Reason: "must be 1.." + strconv.Itoa(storage.MaxPage)}
	}
	res, err := o.w.exec(ctx, `DELETE FROM wahost_messages WHERE seq IN (
		SELECT seq FROM wahost_messages WHERE status <> 'queued' AND created_at < ?
		ORDER BY created_at LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, wrapErr("prune messages", err)
	}
	return res.RowsAffected()
}

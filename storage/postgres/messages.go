package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

const messageCols = `instance_id::text, id, chat, sender, from_me, type, status, reason, payload, idempotency_key,
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

func scanMessage(row pgx.Row) (storage.Message, error) {
	var m storage.Message
	var payload []byte
	var key *string
	var next, expires, ts *time.Time
	err := row.Scan(&m.InstanceID, &m.ID, &m.Chat, &m.Sender, &m.FromMe, &m.Type, &m.Status, &m.Reason,
		&payload, &key, &m.Seq, &m.Attempts, &next, &expires, &ts, &m.CreatedAt, &m.UpdatedAt)
	if err != nil {
		return storage.Message{}, err
	}
	if len(payload) > 0 {
		m.Payload = payload
	}
	if key != nil {
		m.IdempotencyKey = *key
	}
	m.NextAttemptAt, m.ExpiresAt, m.Timestamp = optTime(next), optTime(expires), optTime(ts)
	m.CreatedAt, m.UpdatedAt = storage.Timestamp(m.CreatedAt), storage.Timestamp(m.UpdatedAt)
	return m, nil
}

func collectMessages(rows pgx.Rows) ([]storage.Message, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Message, error) {
		return scanMessage(r)
	})
}

// optTime returns a nullable stored time, the zero time for NULL.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return storage.Timestamp(*t)
}

// optArg passes the zero time as SQL NULL.
func optArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return storage.Timestamp(t)
}

// textArg passes an empty string as SQL NULL.
func textArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertMessage stores a new message. ON CONFLICT DO NOTHING turns a
// duplicate id or idempotency key into no row rather than an error, which
// would abort the unit of work.
func (o ops) InsertMessage(ctx context.Context, m storage.Message) (storage.Message, error) {
	if err := m.Validate(); err != nil {
		return storage.Message{}, err
	}
	now := o.stamp()
	next := optArg(m.NextAttemptAt)
	if m.Status == storage.MessageQueued && next == nil {
		next = now
	}
	out, err := scanMessage(o.q.QueryRow(ctx, `INSERT INTO wahost_messages (
		instance_id, id, chat, sender, from_me, type, status, reason, payload, idempotency_key,
		attempts, next_attempt_at, expires_at, ts, created_at, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
	ON CONFLICT DO NOTHING
	RETURNING `+messageCols,
		m.InstanceID, m.ID, m.Chat, m.Sender, m.FromMe, m.Type, string(m.Status), m.Reason, jsonArg(m.Payload),
		textArg(m.IdempotencyKey), m.Attempts, next, optArg(m.ExpiresAt), optArg(m.Timestamp), now))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Message{}, fmt.Errorf("postgres: insert message %s of instance %s: %w",
			m.ID, m.InstanceID, storage.ErrDuplicateMessage)
	}
	return out, wrapErr("insert message "+m.ID+" of instance "+m.InstanceID, err)
}

// SetMessageStatus moves a message forward. The rank check is part of the
// UPDATE, which PostgreSQL re-evaluates on a row a concurrent update
// changed, so a late receipt cannot move a message back.
func (o ops) SetMessageStatus(ctx context.Context, instanceID, id string, status storage.MessageStatus,
	reason string, ts time.Time) (storage.Message, bool, error) {
	if err := checkStatusChange(instanceID, id, status, reason); err != nil {
		return storage.Message{}, false, err
	}
	below := status.Rank()
	if status == storage.MessageFailed {
		below = storage.MessageDelivered.Rank() // queued or sent only
	}
	out, err := scanMessage(o.q.QueryRow(ctx, `UPDATE wahost_messages
	SET status = $3, reason = $4, ts = COALESCE($5::timestamptz, ts), updated_at = $6
	WHERE instance_id = $1 AND id = $2 AND `+rankExpr+` < $7
	RETURNING `+messageCols,
		instanceID, id, string(status), reason, optArg(ts), o.stamp(), below))
	if err == nil {
		return out, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := o.q.Query(ctx, `UPDATE wahost_messages SET status = 'failed', reason = $2, updated_at = $3
	WHERE instance_id = $1 AND status = 'queued'
	RETURNING `+messageCols, instanceID, reason, o.stamp())
	if err != nil {
		return nil, wrapErr("fail queued messages", err)
	}
	out, err := collectMessages(rows)
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
	tag, err := o.q.Exec(ctx, `UPDATE wahost_messages
	SET attempts = attempts + 1, next_attempt_at = $3, reason = $4, updated_at = $5
	WHERE instance_id = $1 AND id = $2 AND status = 'queued'`,
		instanceID, id, storage.Timestamp(next), lastErr, o.stamp())
	if err != nil {
		return wrapErr("retry message", err)
	}
	if tag.RowsAffected() > 0 {
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
	tag, err := o.q.Exec(ctx, `DELETE FROM wahost_messages WHERE seq IN (
		SELECT seq FROM wahost_messages WHERE status <> 'queued' AND created_at < $1
		ORDER BY created_at LIMIT $2)`, storage.Timestamp(before), limit)
	if err != nil {
		return 0, wrapErr("prune messages", err)
	}
	return tag.RowsAffected(), nil
}

package sqlite

import (
	"context"
	"time"

	"github.com/wahost/wahost/storage"
)

// PruneFailed deletes up to limit events that failed before before,
// oldest first.
func (o ops) PruneFailed(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := storage.ValidateLimit(limit); err != nil {
		return 0, err
	}
	res, err := o.w.exec(ctx, `DELETE FROM wahost_outbox WHERE id IN (
		SELECT id FROM wahost_outbox WHERE failed_at < ? ORDER BY failed_at LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, wrapErr("prune failed events", err)
	}
	return res.RowsAffected()
}

// Backlog counts instances by status, pending and failed deliveries and
// pending purges.
func (o ops) Backlog(ctx context.Context) (storage.Backlog, error) {
	b := storage.Backlog{Instances: map[storage.Status]int64{}}
	rows, err := o.r.query(ctx, "SELECT status, count(*) FROM wahost_instances GROUP BY status")
	if err != nil {
		return b, wrapErr("backlog", err)
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return b, wrapErr("backlog", err)
		}
		b.Instances[storage.Status(st)] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return b, wrapErr("backlog", err)
	}
	err = o.r.queryRow(ctx, `SELECT
		(SELECT count(*) FROM wahost_outbox WHERE seq IS NULL AND delivered_at IS NULL AND failed_at IS NULL),
		(SELECT count(*) FROM wahost_outbox WHERE failed_at IS NOT NULL),
		(SELECT count(*) FROM wahost_pending_purges)`).Scan(&b.OutboxPending, &b.OutboxFailed, &b.PendingPurges)
	return b, wrapErr("backlog", err)
}

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

// AddPurge records a cache purge to run; a pending one is coalesced.
func (o ops) AddPurge(ctx context.Context, instance string) error {
	if err := storage.ValidateName(instance); err != nil {
		return err
	}
	_, err := o.q.Exec(ctx, `INSERT INTO wahost_pending_purges AS p
		(instance, generation, created_at, attempts, next_attempt_at)
	VALUES ($1, 1, $2, 0, $2)
	ON CONFLICT (instance) DO UPDATE SET generation = p.generation + 1, next_attempt_at = EXCLUDED.next_attempt_at`,
		instance, o.stamp())
	return wrapErr("add purge", err)
}

// DuePurges returns up to limit purges due at or before now.
func (o ops) DuePurges(ctx context.Context, now time.Time, limit int) ([]storage.PendingPurge, error) {
	rows, err := o.q.Query(ctx, `SELECT instance, generation, created_at, attempts, next_attempt_at, last_error
	FROM wahost_pending_purges WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, instance LIMIT $2`,
		storage.Timestamp(now), clampLimit(limit))
	if err != nil {
		return nil, wrapErr("due purges", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.PendingPurge, error) {
		var p storage.PendingPurge
		err := r.Scan(&p.Instance, &p.Generation, &p.CreatedAt, &p.Attempts, &p.NextAttemptAt, &p.LastError)
		p.CreatedAt, p.NextAttemptAt = storage.Timestamp(p.CreatedAt), storage.Timestamp(p.NextAttemptAt)
		return p, err
	})
	return out, wrapErr("due purges", err)
}

// PurgeDone removes a purge unless its generation moved on.
func (o ops) PurgeDone(ctx context.Context, instance string, generation int64) error {
	_, err := o.q.Exec(ctx, "DELETE FROM wahost_pending_purges WHERE instance = $1 AND generation = $2",
		instance, generation)
	return wrapErr("purge done", err)
}

// PurgeRetry makes a purge due again at next.
func (o ops) PurgeRetry(ctx context.Context, instance string, next time.Time, lastErr string) error {
	if err := checkError(lastErr); err != nil {
		return err
	}
	_, err := o.q.Exec(ctx, `UPDATE wahost_pending_purges
	SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE instance = $1`,
		instance, storage.Timestamp(next), lastErr)
	return wrapErr("purge retry", err)
}

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

const disconnectCols = `id, instance_id::text, at, kind, code, raw, message, cause, decision, action, rule,
	policy_sha256, fallback, latency_ns, attempt, step, jitter_seed, shadow, shadow_sha256, input, proxy, proxy_to`

func scanDisconnect(row pgx.Row) (storage.Disconnect, error) {
	var d storage.Disconnect
	var decision, shadow, input []byte
	var latency, seed int64
	err := row.Scan(&d.ID, &d.InstanceID, &d.At, &d.Kind, &d.Code, &d.Raw, &d.Message, &d.Cause,
		&decision, &d.Action, &d.Rule, &d.PolicySHA256, &d.Fallback, &latency, &d.Attempt, &d.Step,
		&seed, &shadow, &d.ShadowSHA256, &input, &d.Proxy, &d.ProxyTo)
	if err != nil {
		return storage.Disconnect{}, err
	}
	d.At = storage.Timestamp(d.At)
	d.Latency = time.Duration(latency)
	d.JitterSeed = uint32(seed)
	if len(decision) > 0 {
		d.Decision = decision
	}
	if len(shadow) > 0 {
		d.Shadow = shadow
	}
	if len(input) > 0 {
		d.Input = input
	}
	return d, nil
}

// RecordDisconnect appends one row to the disconnect history.
func (o ops) RecordDisconnect(ctx context.Context, d storage.Disconnect) (storage.Disconnect, error) {
	if err := d.Validate(); err != nil {
		return storage.Disconnect{}, err
	}
	if o.grp.instance(d.InstanceID) != nil { // locked by the group: the row will insert
		if out, ok := o.grp.recordDisconnect(d); ok {
			return out, nil
		}
	}
	out, err := scanDisconnect(o.q.QueryRow(ctx, `INSERT INTO wahost_disconnects (
		instance_id, at, kind, code, raw, message, cause, decision, action, rule,
		policy_sha256, fallback, latency_ns, attempt, step, jitter_seed, shadow, shadow_sha256, input, proxy, proxy_to)
	SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21
	WHERE `+instanceLocked+`
	RETURNING `+disconnectCols,
		d.InstanceID, storage.Timestamp(d.At), d.Kind, d.Code, d.Raw, d.Message, d.Cause,
		jsonArg(d.Decision), d.Action, d.Rule, d.PolicySHA256, d.Fallback, int64(d.Latency),
		d.Attempt, d.Step, int64(d.JitterSeed), jsonArg(d.Shadow), d.ShadowSHA256, jsonArg(d.Input), d.Proxy, d.ProxyTo))
	if errors.Is(err, pgx.ErrNoRows) {
		return out, storage.NotFound("instance", d.InstanceID)
	}
	return out, wrapErr("record disconnect of instance "+d.InstanceID, err)
}

// instanceLocked is the condition that instance $1 exists, share-locking
// its key until the transaction ends as a foreign key would: the history
// and the episodes have none (migration 0014), and a DeleteInstance then
// waits for the row written for that instance, and deletes it.
const instanceLocked = `EXISTS (SELECT 1 FROM wahost_instances WHERE id = $1 FOR KEY SHARE)`

// RecentDisconnects returns up to limit disconnects at or after since,
// newest first.
func (o ops) RecentDisconnects(ctx context.Context, instanceID string, since time.Time, limit int) ([]storage.Disconnect, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	return o.disconnects(ctx, "recent disconnects", recentQuery, instanceID, storage.Timestamp(since), clampLimit(limit))
}

// recentQuery reads up to $3 disconnects of instance $1 at or after $2,
// newest first.
const recentQuery = `SELECT ` + disconnectCols + ` FROM wahost_disconnects
	WHERE instance_id = $1 AND at >= $2 ORDER BY at DESC, id DESC LIMIT $3`

// ListDisconnects pages through an instance's history, newest first.
func (o ops) ListDisconnects(ctx context.Context, instanceID string, before int64, limit int) ([]storage.Disconnect, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	return o.disconnects(ctx, "list disconnects", `SELECT `+disconnectCols+` FROM wahost_disconnects
	WHERE instance_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
		instanceID, before, clampLimit(limit))
}

func (o ops) disconnects(ctx context.Context, op, q string, args ...any) ([]storage.Disconnect, error) {
	rows, err := o.q.Query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Disconnect, error) {
		return scanDisconnect(r)
	})
	return out, wrapErr(op, err)
}

// PruneDisconnects deletes up to limit rows older than before, oldest
// first.
func (o ops) PruneDisconnects(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := storage.ValidateLimit(limit); err != nil {
		return 0, err
	}
	tag, err := o.q.Exec(ctx, `DELETE FROM wahost_disconnects WHERE id IN (
		SELECT id FROM wahost_disconnects WHERE at < $1 ORDER BY at LIMIT $2)`, storage.Timestamp(before), limit)
	if err != nil {
		return 0, wrapErr("prune disconnects", err)
	}
	if _, err := o.q.Exec(ctx, "DELETE FROM wahost_episodes WHERE ended_at < $1", storage.Timestamp(before)); err != nil {
		return 0, wrapErr("prune episodes", err)
	}
	return tag.RowsAffected(), nil
}

package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/wahost/wahost/storage"
)

const disconnectCols = `id, instance_id, at, kind, code, raw, message, cause, decision, action, rule,
	policy_sha256, fallback, latency_ns, attempt, step, jitter_seed, shadow, shadow_sha256, input, proxy, proxy_to`

func scanDisconnect(row scanner) (storage.Disconnect, error) {
	var d storage.Disconnect
	var at, latency, seed int64
	var decision, shadow, input sql.NullString
	err := row.Scan(&d.ID, &d.InstanceID, &at, &d.Kind, &d.Code, &d.Raw, &d.Message, &d.Cause,
		&decision, &d.Action, &d.Rule, &d.PolicySHA256, &d.Fallback, &latency, &d.Attempt, &d.Step,
		&seed, &shadow, &d.ShadowSHA256, &input, &d.Proxy, &d.ProxyTo)
	if err != nil {
		return storage.Disconnect{}, err
	}
	d.At = fromMicros(at)
	d.Latency = time.Duration(latency)
	d.JitterSeed = uint32(seed)
	d.Decision, d.Shadow, d.Input = jsonOut(decision), jsonOut(shadow), jsonOut(input)
	return d, nil
}

// RecordDisconnect appends one row to the disconnect history.
func (o ops) RecordDisconnect(ctx context.Context, d storage.Disconnect) (storage.Disconnect, error) {
	if err := d.Validate(); err != nil {
		return storage.Disconnect{}, err
	}
	out, err := scanDisconnect(o.w.queryRow(ctx, `INSERT INTO wahost_disconnects (
		instance_id, at, kind, code, raw, message, cause, decision, action, rule,
		policy_sha256, fallback, latency_ns, attempt, step, jitter_seed, shadow, shadow_sha256, input, proxy, proxy_to)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	RETURNING `+disconnectCols,
		d.InstanceID, micros(d.At), d.Kind, d.Code, d.Raw, d.Message, d.Cause,
		jsonArg(d.Decision), d.Action, d.Rule, d.PolicySHA256, d.Fallback, int64(d.Latency),
		d.Attempt, d.Step, int64(d.JitterSeed), jsonArg(d.Shadow), d.ShadowSHA256, jsonArg(d.Input), d.Proxy, d.ProxyTo))
	return out, wrapErr("record disconnect of instance "+d.InstanceID, err)
}

// RecentDisconnects returns up to limit disconnects at or after since,
// newest first.
func (o ops) RecentDisconnects(ctx context.Context, instanceID string, since time.Time, limit int) ([]storage.Disconnect, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	return o.disconnects(ctx, "recent disconnects", `SELECT `+disconnectCols+` FROM wahost_disconnects
	WHERE instance_id = ? AND at >= ? ORDER BY at DESC, id DESC LIMIT ?`,
		instanceID, micros(since), clampLimit(limit))
}

// ListDisconnects pages through an instance's history, newest first.
func (o ops) ListDisconnects(ctx context.Context, instanceID string, before int64, limit int) ([]storage.Disconnect, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return nil, err
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	return o.disconnects(ctx, "list disconnects", `SELECT `+disconnectCols+` FROM wahost_disconnects
	WHERE instance_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
		instanceID, before, clampLimit(limit))
}

func (o ops) disconnects(ctx context.Context, op, q string, args ...any) ([]storage.Disconnect, error) {
	rows, err := o.r.query(ctx, q, args...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	out, err := collect(rows, scanDisconnect)
	return out, wrapErr(op, err)
}

// PruneDisconnects deletes up to limit rows older than before, oldest
// first.
func (o ops) PruneDisconnects(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := storage.ValidateLimit(limit); err != nil {
		return 0, err
	}
	res, err := o.w.exec(ctx, `DELETE FROM wahost_disconnects WHERE id IN (
		SELECT id FROM wahost_disconnects WHERE at < ? ORDER BY at LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, wrapErr("prune disconnects", err)
	}
	if _, err := o.w.exec(ctx, "DELETE FROM wahost_episodes WHERE ended_at < ?", micros(before)); err != nil {
		return 0, wrapErr("prune episodes", err)
	}
	return res.RowsAffected()
}

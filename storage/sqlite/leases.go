package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/wahost/wahost/storage"
)

const leaseCols = "instance_id, owner, token, expires_at"

func scanLease(row scanner) (storage.Lease, error) {
	var l storage.Lease
	var exp int64
	err := row.Scan(&l.InstanceID, &l.Owner, &l.Token, &exp)
	l.ExpiresAt = fromMicros(exp)
	return l, err
}

func checkLeaseArgs(instanceID, owner string, ttl time.Duration) error {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return err
	}
	if err := storage.ValidateOwner("owner", owner); err != nil {
		return err
	}
	if ttl <= 0 {
		return &storage.InputError{Field: "ttl", Reason: "must be positive"}
	}
	return nil
}

// AcquireLease gives owner the lease on an instance for ttl. The upsert
// keeps the token while the same owner renews an unexpired lease and bumps
// it whenever the lease changes hands or lapsed.
func (o ops) AcquireLease(ctx context.Context, instanceID, owner string, ttl time.Duration) (storage.Lease, error) {
	if err := checkLeaseArgs(instanceID, owner, ttl); err != nil {
		return storage.Lease{}, err
	}
	now := o.now()
	l, err := scanLease(o.w.queryRow(ctx, `INSERT INTO wahost_leases AS l (instance_id, owner, token, expires_at)
	VALUES (?1, ?2, 1, ?3)
	ON CONFLICT (instance_id) DO UPDATE SET
		owner = excluded.owner,
		token = CASE WHEN l.owner = excluded.owner AND l.expires_at > ?4 THEN l.token ELSE l.token + 1 END,
		expires_at = excluded.expires_at
	WHERE l.owner = excluded.owner OR l.expires_at <= ?4
	RETURNING `+leaseCols,
		instanceID, owner, micros(now.Add(ttl)), micros(now)))
	if errors.Is(err, sql.ErrNoRows) {
		cur, err := o.Lease(ctx, instanceID)
		if err != nil {
			return storage.Lease{}, err
		}
		return storage.Lease{}, &storage.LeaseHeldError{InstanceID: instanceID, Owner: cur.Owner, ExpiresAt: cur.ExpiresAt}
	}
	return l, wrapErr("acquire lease on instance "+instanceID, err)
}

// RenewLease extends l for ttl from now.
func (o ops) RenewLease(ctx context.Context, l storage.Lease, ttl time.Duration) (storage.Lease, error) {
	if err := checkLeaseArgs(l.InstanceID, l.Owner, ttl); err != nil {
		return storage.Lease{}, err
	}
	out, err := scanLease(o.w.queryRow(ctx, `UPDATE wahost_leases SET expires_at = ?
	WHERE instance_id = ? AND owner = ? AND token = ? RETURNING `+leaseCols,
		micros(o.now().Add(ttl)), l.InstanceID, l.Owner, l.Token))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Lease{}, storage.ErrLeaseLost
	}
	return out, wrapErr("renew lease", err)
}

// ReleaseLease ends l now.
func (o ops) ReleaseLease(ctx context.Context, l storage.Lease) error {
	if err := storage.ValidateID("instance id", l.InstanceID); err != nil {
		return err
	}
	now := o.stamp()
	_, err := o.w.exec(ctx, `UPDATE wahost_leases SET expires_at = ?1
	WHERE instance_id = ?2 AND owner = ?3 AND token = ?4 AND expires_at > ?1`,
		now, l.InstanceID, l.Owner, l.Token)
	return wrapErr("release lease", err)
}

// Lease returns the current lease row of an instance.
func (o ops) Lease(ctx context.Context, instanceID string) (storage.Lease, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.Lease{}, err
	}
	l, err := scanLease(o.r.queryRow(ctx, "SELECT "+leaseCols+" FROM wahost_leases WHERE instance_id = ?", instanceID))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Lease{}, storage.NotFound("lease", instanceID)
	}
	return l, wrapErr("get lease", err)
}

// CheckLease fails with ErrLeaseLost unless l is current and unexpired.
// Inside a unit of work the transaction holds the write lock, so no other
// host can take the lease before it commits.
func (o ops) CheckLease(ctx context.Context, l storage.Lease) error {
	if err := storage.ValidateID("instance id", l.InstanceID); err != nil {
		return err
	}
	var one int
	err := o.r.queryRow(ctx, `SELECT 1 FROM wahost_leases
	WHERE instance_id = ? AND owner = ? AND token = ? AND expires_at > ?`,
		l.InstanceID, l.Owner, l.Token, o.stamp()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return storage.ErrLeaseLost
	}
	return wrapErr("check lease", err)
}

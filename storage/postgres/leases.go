package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

const leaseCols = "instance_id::text, owner, token, expires_at"

func scanLease(row pgx.Row) (storage.Lease, error) {
	var l storage.Lease
	err := row.Scan(&l.InstanceID, &l.Owner, &l.Token, &l.ExpiresAt)
	l.ExpiresAt = storage.Timestamp(l.ExpiresAt)
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
	now := o.stamp()
	l, err := scanLease(o.q.QueryRow(ctx, `INSERT INTO wahost_leases AS l (instance_id, owner, token, expires_at)
	VALUES ($1, $2, 1, $3)
	ON CONFLICT (instance_id) DO UPDATE SET
		owner = EXCLUDED.owner,
		token = CASE WHEN l.owner = EXCLUDED.owner AND l.expires_at > $4 THEN l.token ELSE l.token + 1 END,
		expires_at = EXCLUDED.expires_at
	WHERE l.owner = EXCLUDED.owner OR l.expires_at <= $4
	RETURNING `+prefixed("l.", leaseCols),
		instanceID, owner, storage.Timestamp(now.Add(ttl)), now))
	if errors.Is(err, pgx.ErrNoRows) {
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
	out, err := scanLease(o.q.QueryRow(ctx, `UPDATE wahost_leases SET expires_at = $4
	WHERE instance_id = $1 AND owner = $2 AND token = $3 RETURNING `+leaseCols,
		l.InstanceID, l.Owner, l.Token, storage.Timestamp(o.now().Add(ttl))))
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err := o.q.Exec(ctx, `UPDATE wahost_leases SET expires_at = $4
	WHERE instance_id = $1 AND owner = $2 AND token = $3 AND expires_at > $4`,
		l.InstanceID, l.Owner, l.Token, now)
	return wrapErr("release lease", err)
}

// Lease returns the current lease row of an instance.
func (o ops) Lease(ctx context.Context, instanceID string) (storage.Lease, error) {
	if err := storage.ValidateID("instance id", instanceID); err != nil {
		return storage.Lease{}, err
	}
	l, err := scanLease(o.q.QueryRow(ctx, "SELECT "+leaseCols+" FROM wahost_leases WHERE instance_id = $1", instanceID))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Lease{}, storage.NotFound("lease", instanceID)
	}
	return l, wrapErr("get lease", err)
}

// CheckLease fails with ErrLeaseLost unless l is current and unexpired.
// Inside a unit of work the row is share-locked, so a competing
// AcquireLease waits until the transaction ends.
func (o ops) CheckLease(ctx context.Context, l storage.Lease) error {
	if err := storage.ValidateID("instance id", l.InstanceID); err != nil {
		return err
	}
	q := `SELECT 1 FROM wahost_leases WHERE instance_id = $1 AND owner = $2 AND token = $3 AND expires_at > $4`
	if o.inTx {
		q += " FOR SHARE"
	}
	var one int
	qr := o.q
	if f, ok := qr.(flushing); ok {
		qr = f.tx // the group's pending writes never touch leases: no need to send them first
	}
	err := qr.QueryRow(ctx, q, l.InstanceID, l.Owner, l.Token, o.stamp()).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.ErrLeaseLost
	}
	return wrapErr("check lease", err)
}

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage"
)

var _ storage.Fleet = (*Store)(nil)

// Heartbeat records that h is alive now.
func (o ops) Heartbeat(ctx context.Context, h storage.HostInfo) error {
	if err := storage.ValidateOwner("host id", h.ID); err != nil {
		return err
	}
	now := o.stamp()
	_, err := o.q.Exec(ctx, `INSERT INTO wahost_hosts (id, url, max_instances, started_at, seen_at)
	VALUES ($1, $2, $3, $4, $4)
	ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, max_instances = EXCLUDED.max_instances, seen_at = $4`,
		h.ID, h.URL, h.MaxInstances, now)
	return wrapErr("heartbeat", err)
}

// LeaveFleet removes a host's heartbeat.
func (o ops) LeaveFleet(ctx context.Context, hostID string) error {
	_, err := o.q.Exec(ctx, `DELETE FROM wahost_hosts WHERE id = $1`, hostID)
	return wrapErr("leave fleet", err)
}

// Hosts returns the hosts seen at or after since.
func (o ops) Hosts(ctx context.Context, since time.Time) ([]storage.HostInfo, error) {
	rows, err := o.q.Query(ctx, `SELECT id, url, max_instances, started_at, seen_at FROM wahost_hosts
	WHERE seen_at >= $1 ORDER BY id`, storage.Timestamp(since))
	if err != nil {
		return nil, wrapErr("list hosts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.HostInfo, error) {
		var h storage.HostInfo
		err := r.Scan(&h.ID, &h.URL, &h.MaxInstances, &h.StartedAt, &h.SeenAt)
		h.StartedAt, h.SeenAt = storage.Timestamp(h.StartedAt), storage.Timestamp(h.SeenAt)
		return h, err
	})
	return out, wrapErr("list hosts", err)
}

// ListLeases returns every lease row.
func (o ops) ListLeases(ctx context.Context) ([]storage.Lease, error) {
	rows, err := o.q.Query(ctx, "SELECT "+leaseCols+" FROM wahost_leases ORDER BY instance_id")
	if err != nil {
		return nil, wrapErr("list leases", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Lease, error) { return scanLease(r) })
	return out, wrapErr("list leases", err)
}

// RenewLeases extends the leases still held, in one statement.
func (o ops) RenewLeases(ctx context.Context, leases []storage.Lease, ttl time.Duration) ([]storage.Lease, error) {
	if len(leases) > storage.MaxPage {
		return nil, &storage.InputError{Field: "leases", Reason: "more than MaxPage"}
	}
	ids := make([]string, len(leases))
	owners := make([]string, len(leases))
	tokens := make([]int64, len(leases))
	for i, l := range leases {
		if err := checkLeaseArgs(l.InstanceID, l.Owner, ttl); err != nil {
			return nil, err
		}
		ids[i], owners[i], tokens[i] = l.InstanceID, l.Owner, l.Token
	}
	rows, err := o.q.Query(ctx, `UPDATE wahost_leases AS l SET expires_at = $4
	FROM unnest($1::uuid[], $2::text[], $3::bigint[]) AS k(instance_id, owner, token)
	WHERE l.instance_id = k.instance_id AND l.owner = k.owner AND l.token = k.token
	RETURNING `+prefixed("l.", leaseCols), ids, owners, tokens, storage.Timestamp(o.now().Add(ttl)))
	if err != nil {
		return nil, wrapErr("renew leases", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Lease, error) { return scanLease(r) })
	return out, wrapErr("renew leases", err)
}

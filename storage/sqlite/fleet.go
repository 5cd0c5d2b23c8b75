package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/wahost/wahost/storage"
)

var _ storage.Fleet = (*Store)(nil)

// Heartbeat records that h is alive now.
func (o ops) Heartbeat(ctx context.Context, h storage.HostInfo) error {
	if err := storage.ValidateOwner("host id", h.ID); err != nil {
		return err
	}
	now := o.stamp()
	_, err := o.w.exec(ctx, `INSERT INTO wahost_hosts (id, url, max_instances, started_at, seen_at)
	VALUES (?1, ?2, ?3, ?4, ?4)
	ON CONFLICT (id) DO UPDATE SET url = excluded.url, max_instances = excluded.max_instances, seen_at = ?4`,
		h.ID, h.URL, h.MaxInstances, now)
	return wrapErr("heartbeat", err)
}

// LeaveFleet removes a host's heartbeat.
func (o ops) LeaveFleet(ctx context.Context, hostID string) error {
	_, err := o.w.exec(ctx, `DELETE FROM wahost_hosts WHERE id = ?1`, hostID)
	return wrapErr("leave fleet", err)
}

// Hosts returns the hosts seen at or after since.
func (o ops) Hosts(ctx context.Context, since time.Time) ([]storage.HostInfo, error) {
	rows, err := o.r.query(ctx, `SELECT id, url, max_instances, started_at, seen_at FROM wahost_hosts
	WHERE seen_at >= ?1 ORDER BY id`, micros(since))
	if err != nil {
		return nil, wrapErr("list hosts", err)
	}
	out, err := collect(rows, func(r scanner) (storage.HostInfo, error) {
		var h storage.HostInfo
		var started, seen int64
		err := r.Scan(&h.ID, &h.URL, &h.MaxInstances, &started, &seen)
		h.StartedAt, h.SeenAt = fromMicros(started), fromMicros(seen)
		return h, err
	})
	return out, wrapErr("list hosts", err)
}

// ListLeases returns every lease row.
func (o ops) ListLeases(ctx context.Context) ([]storage.Lease, error) {
	rows, err := o.r.query(ctx, "SELECT "+leaseCols+" FROM wahost_leases ORDER BY instance_id")
	if err != nil {
		return nil, wrapErr("list leases", err)
	}
	out, err := collect(rows, scanLease)
	return out, wrapErr("list leases", err)
}

// RenewLeases extends the leases still held, one statement each (SQLite
// has one writer; the statements are prepared once).
func (o ops) RenewLeases(ctx context.Context, leases []storage.Lease, ttl time.Duration) ([]storage.Lease, error) {
	if len(leases) > storage.MaxPage {
		return nil, &storage.InputError{Field: "leases", Reason: "more than MaxPage"}
	}
	var out []storage.Lease
	for _, l := range leases {
		r, err := o.RenewLease(ctx, l, ttl)
		if errors.Is(err, storage.ErrLeaseLost) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

package storage

import (
	"context"
	"time"
)

// Fleet is what the hosts sharing one database know of each other: their
// heartbeats and every instance's lease. Both stores implement it; only
// PostgreSQL is shared by several hosts.
type Fleet interface {
	// Heartbeat records that h is alive now (SeenAt is set by the store;
	// StartedAt is kept from the host's first heartbeat).
	Heartbeat(ctx context.Context, h HostInfo) error
	// LeaveFleet removes a host's heartbeat (a host stopping).
	LeaveFleet(ctx context.Context, hostID string) error
	// Hosts returns the hosts that sent a heartbeat at or after since,
	// ordered by ID.
	Hosts(ctx context.Context, since time.Time) ([]HostInfo, error)
	// ListLeases returns every lease row, expired or not, ordered by
	// instance ID.
	ListLeases(ctx context.Context) ([]Lease, error)
	// RenewLeases extends for ttl from now every lease of leases that is
	// still the current one of its instance (RenewLease for many, in one
	// statement where the store can) and returns the renewed ones; a
	// lease missing from the answer is lost. At most MaxPage at once.
	RenewLeases(ctx context.Context, leases []Lease, ttl time.Duration) ([]Lease, error)
}

// HostInfo is one host of a fleet as its heartbeat describes it.
type HostInfo struct {
	ID           string
	URL          string // its advertised API URL
	MaxInstances int    // 0: no cap
	StartedAt    time.Time
	SeenAt       time.Time
}

// Package cluster decides which host of a fleet drives which instance.
//
// The hosts share one PostgreSQL database and nothing else. Each instance
// has a lease (storage.Leases); a host drives an instance only while it
// holds the lease, renews it every third of its TTL, and takes over the
// leases of hosts that stopped renewing (died, paused, cut off) once they
// expire. Every unit of work of a leased instance is fenced: Fence wraps
// the store so that a transaction writing for an instance commits only
// while this host's lease on it holds (CheckLease inside the transaction).
//
// Balance is kept by hand-off, never by stealing: a host holding more than
// its fair share (instances ÷ live hosts) while another holds less closes
// some sessions and releases their leases; the host with room takes them.
//
// The Coordinator is one component (Start, Stop). It runs three loops:
// the renewals (every TTL/3, a page of leases per statement), a watchdog
// that closes the clients of leases not renewed for three quarters of the
// TTL, and the balancing pass (heartbeat, acquisitions, hand-offs). They
// run apart so that a slow pass never delays a renewal. RunOnce is one
// renewal and one pass, for tests.
package cluster

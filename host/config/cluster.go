package config

import (
	"net/url"
	"time"
)

// Cluster makes several hosts on one PostgreSQL database one fleet: each
// instance is driven by the one host holding its lease.
type Cluster struct {
	// Enabled turns leasing on; it needs database.url (PostgreSQL).
	Enabled bool `koanf:"enabled"`
	// HostID names this host in leases; empty means the hostname and a
	// random suffix, new at every start.
	HostID string `koanf:"host_id"`
	// AdvertiseURL is where the other hosts reach this host's API
	// (http://10.0.0.5:8080); requests for the instances it drives are
	// forwarded there.
	AdvertiseURL string `koanf:"advertise_url"`
	// MaxInstances caps the leases this host holds; 0 means no cap.
	MaxInstances int `koanf:"max_instances"`
	// LeaseTTL is how long a lease lasts unrenewed: how long a dead
	// host's instances wait for another host.
	LeaseTTL time.Duration `koanf:"lease_ttl"`
	// Forward proxies a request for an instance another host drives to
	// that host; off, the API answers 307 to the owner.
	Forward bool `koanf:"forward"`
}

func (c Cluster) validate(databaseURL string, bad func(key, format string, args ...any)) {
	if !c.Enabled {
		return
	}
	if databaseURL == "" {
		bad("cluster.enabled", "needs database.url: a fleet shares one PostgreSQL database (SQLite is one host)")
	}
	if c.LeaseTTL < 3*time.Second || c.LeaseTTL > 10*time.Minute {
		bad("cluster.lease_ttl", "%s, want 3s to 10m", c.LeaseTTL)
	}
	if c.MaxInstances < 0 {
		bad("cluster.max_instances", "%d is negative (0 means no cap)", c.MaxInstances)
	}
	if len(c.HostID) > 200 {
		bad("cluster.host_id", "is longer than 200 characters")
	}
	if c.AdvertiseURL != "" {
		u, err := url.Parse(c.AdvertiseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("cluster.advertise_url", "%q is not an http:// or https:// URL", c.AdvertiseURL)
		}
	}
}

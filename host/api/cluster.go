package api

import (
	"context"
	"net/http"
	"time"
)

// Fleet describes the fleet of hosts sharing the database (GET
// /v1/cluster).
type Fleet interface {
	Fleet(ctx context.Context) (FleetState, error)
}

// FleetState is GET /v1/cluster's answer.
type FleetState struct {
	// Enabled is false on a host outside a fleet; the rest is then empty.
	Enabled bool        `json:"enabled"`
	HostID  string      `json:"host_id,omitempty"` // the host that answered
	TTL     float64     `json:"lease_ttl_seconds,omitempty"`
	Hosts   []FleetHost `json:"hosts"`
	// Undriven lists the instances no live lease covers.
	Undriven []string `json:"undriven"`
}

// FleetHost is one live host and the instances it drives.
type FleetHost struct {
	ID           string          `json:"id"`
	URL          string          `json:"url"`
	MaxInstances int             `json:"max_instances"`
	StartedAt    time.Time       `json:"started_at"`
	SeenAt       time.Time       `json:"seen_at"`
	Instances    []FleetInstance `json:"instances"`
}

// FleetInstance is one instance's lease.
type FleetInstance struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Token     int64     `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	// RenewedAgo is the lease's age since its last renewal, in seconds.
	RenewedAgo float64 `json:"renewed_ago_seconds"`
}

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Fleet == nil {
		writeJSON(w, http.StatusOK, FleetState{Hosts: []FleetHost{}, Undriven: []string{}})
		return nil
	}
	st, err := s.cfg.Fleet.Fleet(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

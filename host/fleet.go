package host

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/cluster"
	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/backend"
)

// newCluster builds the fleet coordinator when cluster.enabled is on and
// fences the store with its leases; off, every instance is this host's.
func (h *Host) newCluster(cfg *config.Config) error {
	if !cfg.Cluster.Enabled {
		return nil
	}
	cs, ok := h.store.(cluster.Store)
	if !ok {
		return &config.KeyError{Key: "cluster.enabled", Err: fmt.Errorf("the %T store cannot hold a fleet's leases", h.store)}
	}
	url := cfg.Cluster.AdvertiseURL
	if url == "" {
		url = "http://" + h.listener.Addr().String()
	}
	h.cluster = cluster.New(cluster.Config{
		Store: cs, HostID: cfg.Cluster.HostID, URL: strings.TrimSuffix(url, "/"),
		MaxInstances: cfg.Cluster.MaxInstances, TTL: cfg.Cluster.LeaseTTL,
		Driver: fleetDriver{h}, Logger: h.log, Registerer: h.reg,
	})
	h.store = fencedStore{Fenced: cluster.Fence(h.store, h.cluster), sessionDB: h.store.SessionDB}
	// Every line the parts built from here on log names this host.
	h.log = h.log.With("host_id", h.cluster.HostID())
	return nil
}

// owns reports whether this host drives an instance: always, outside a
// fleet.
func (h *Host) owns(instanceID string) bool {
	return h.cluster == nil || h.cluster.Holds(instanceID)
}

// fencedStore is the backend store with its writes fenced by the fleet's
// leases.
type fencedStore struct {
	*cluster.Fenced
	sessionDB func() (*sql.DB, string, error)
}

var _ backend.Store = fencedStore{}

func (f fencedStore) SessionDB() (*sql.DB, string, error) { return f.sessionDB() }

// fleetDriver starts and stops the instances whose leases the coordinator
// takes and loses.
type fleetDriver struct{ h *Host }

// Adopt reconnects an instance taken over, through the scheduler's rate
// limit, when it was open or connecting and has a paired device.
func (d fleetDriver) Adopt(ctx context.Context, instanceID string, takeover bool) {
	inst, err := d.h.store.Instance(ctx, instanceID)
	if err != nil {
		d.h.log.Warn("adopting an instance: reading it failed", "instance_id", instanceID, "error", err)
		return
	}
	// The webhook destinations are kept per process and set by the host
	// that served the settings change, the instance's driver then: read
	// them again now that this host drives it.
	if set, err := d.h.store.Settings(ctx, instanceID); err != nil {
		d.h.log.Warn("adopting an instance: reading its settings failed", "instance_id", instanceID, "error", err)
	} else {
		d.h.hooks.SetInstance(instanceID, set)
	}
	if inst.Status != storage.StatusOpen && inst.Status != storage.StatusConnecting {
		d.h.exec.Adopt(inst, takeover) // remembered only
		return
	}
	if !d.h.sessions.Resumable(ctx, inst) {
		return
	}
	d.h.log.Info("driving an instance", "instance", inst.Name, "instance_id", inst.ID, "takeover", takeover)
	d.h.exec.Adopt(inst, takeover)
}

// Drop closes an instance's client at once and forgets its pending
// reconnect: another host drives it now.
func (d fleetDriver) Drop(instanceID string) {
	d.h.sched.Cancel(instanceID)
	_ = d.h.sessions.Disconnect(instanceID)
}

// fleetView serves GET /v1/cluster.
type fleetView struct{ h *Host }

func (v fleetView) Fleet(ctx context.Context) (api.FleetState, error) {
	c := v.h.cluster
	out := api.FleetState{Hosts: []api.FleetHost{}, Undriven: []string{}}
	if c == nil {
		return out, nil
	}
	out.Enabled, out.HostID, out.TTL = true, c.HostID(), c.TTL().Seconds()
	fleet := v.h.store.(fencedStore).Unwrap().(cluster.Store)
	now := v.h.clock.Now()
	hosts, err := fleet.Hosts(ctx, now.Add(-c.TTL()))
	if err != nil {
		return out, err
	}
	leases, err := fleet.ListLeases(ctx)
	if err != nil {
		return out, err
	}
	insts, err := fleet.ListInstances(ctx)
	if err != nil {
		return out, err
	}
	names := make(map[string]string, len(insts))
	for _, in := range insts {
		names[in.ID] = in.Name
	}
	byHost := map[string]int{}
	for _, hi := range hosts {
		byHost[hi.ID] = len(out.Hosts)
		out.Hosts = append(out.Hosts, api.FleetHost{
			ID: hi.ID, URL: hi.URL, MaxInstances: hi.MaxInstances, StartedAt: hi.StartedAt, SeenAt: hi.SeenAt,
			Instances: []api.FleetInstance{},
		})
	}
	driven := map[string]bool{}
	for _, l := range leases {
		i, ok := byHost[l.Owner]
		if !ok || !l.ExpiresAt.After(now) || names[l.InstanceID] == "" {
			continue
		}
		driven[l.InstanceID] = true
		renewed := l.ExpiresAt.Add(-c.TTL())
		out.Hosts[i].Instances = append(out.Hosts[i].Instances, api.FleetInstance{
			ID: l.InstanceID, Name: names[l.InstanceID], Token: l.Token, ExpiresAt: l.ExpiresAt,
			RenewedAgo: max(0, now.Sub(renewed).Seconds()),
		})
	}
	for _, in := range insts {
		if !driven[in.ID] {
			out.Undriven = append(out.Undriven, in.Name)
		}
	}
	return out, nil
}

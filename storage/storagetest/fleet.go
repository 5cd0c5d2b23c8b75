package storagetest

import (
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func testFleet(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	f, ok := s.(storage.Fleet)
	if !ok {
		t.Fatalf("%T does not implement storage.Fleet", s)
	}
	start := c.Now()
	if err := f.Heartbeat(ctx, storage.HostInfo{ID: "host-a", URL: "http://a:8080", MaxInstances: 5}); err != nil {
		t.Fatal(err)
	}
	c.Advance(10 * time.Second)
	if err := f.Heartbeat(ctx, storage.HostInfo{ID: "host-b", URL: "http://b:8080"}); err != nil {
		t.Fatal(err)
	}
	hosts := try(f.Hosts(ctx, start)).must(t)
	if len(hosts) != 2 || hosts[0].ID != "host-a" || hosts[0].URL != "http://a:8080" || hosts[0].MaxInstances != 5 ||
		!hosts[0].SeenAt.Equal(start) || hosts[1].ID != "host-b" {
		t.Fatalf("Hosts = %+v", hosts)
	}
	// A heartbeat keeps the start and moves the sighting.
	if err := f.Heartbeat(ctx, storage.HostInfo{ID: "host-a", URL: "http://a2:8080"}); err != nil {
		t.Fatal(err)
	}
	hosts = try(f.Hosts(ctx, c.Now())).must(t)
	if len(hosts) != 2 || !hosts[0].StartedAt.Equal(start) || !hosts[0].SeenAt.Equal(c.Now()) || hosts[0].URL != "http://a2:8080" {
		t.Fatalf("Hosts after a second heartbeat = %+v", hosts)
	}
	if err := f.LeaveFleet(ctx, "host-b"); err != nil {
		t.Fatal(err)
	}
	if hosts = try(f.Hosts(ctx, start)).must(t); len(hosts) != 1 || hosts[0].ID != "host-a" {
		t.Fatalf("Hosts after host-b left = %+v", hosts)
	}

	in1 := newInstance(t, s, "fleet-one")
	in2 := newInstance(t, s, "fleet-two")
	l1 := try(s.AcquireLease(ctx, in1.ID, "host-a", time.Minute)).must(t)
	l2 := try(s.AcquireLease(ctx, in2.ID, "host-b", time.Minute)).must(t)
	leases := try(f.ListLeases(ctx)).must(t)
	want := map[string]storage.Lease{l1.InstanceID: l1, l2.InstanceID: l2}
	if len(leases) != 2 || leases[0].InstanceID > leases[1].InstanceID {
		t.Fatalf("ListLeases = %+v", leases)
	}
	for _, l := range leases {
		if want[l.InstanceID] != l {
			t.Fatalf("ListLeases has %+v, want %+v", l, want[l.InstanceID])
		}
	}

	// RenewLeases renews the leases still held and leaves out the others.
	in3 := newInstance(t, s, "fleet-three")
	l3 := try(s.AcquireLease(ctx, in3.ID, "host-a", time.Second)).must(t)
	c.Advance(2 * time.Second)
	try(s.AcquireLease(ctx, in3.ID, "host-b", time.Minute)).must(t) // l3 lapsed and was taken
	c.Advance(time.Second)
	renewed := try(f.RenewLeases(ctx, []storage.Lease{l1, l2, l3}, 2*time.Minute)).must(t)
	if len(renewed) != 2 {
		t.Fatalf("RenewLeases = %+v, want l1 and l2 renewed", renewed)
	}
	for _, r := range renewed {
		w := want[r.InstanceID]
		if r.Owner != w.Owner || r.Token != w.Token || !r.ExpiresAt.Equal(c.Now().Add(2*time.Minute)) {
			t.Fatalf("RenewLeases returned %+v for %+v", r, w)
		}
	}
	if got := try(s.Lease(ctx, l1.InstanceID)).must(t); !got.ExpiresAt.Equal(c.Now().Add(2 * time.Minute)) {
		t.Fatalf("after RenewLeases, lease = %+v", got)
	}
	if got := try(f.RenewLeases(ctx, nil, time.Minute)).must(t); len(got) != 0 {
		t.Fatalf("RenewLeases(nil) = %+v", got)
	}
}

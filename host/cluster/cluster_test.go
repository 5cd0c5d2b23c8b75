package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/cluster"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// clock is a settable time shared by the store and the coordinators.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// driver records what a coordinator asks of its host.
type driver struct {
	mu      sync.Mutex
	adopted map[string]bool // instance → takeover
	dropped []string
}

func (d *driver) Adopt(_ context.Context, id string, takeover bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.adopted[id] = takeover
}

func (d *driver) Drop(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropped = append(d.dropped, id)
}

func (d *driver) counts() (adopted, dropped int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.adopted), len(d.dropped)
}

func openStore(t *testing.T, now func() time.Time) *postgres.Store {
	t.Helper()
	schema := testenv.Name("wahost_cluster_")
	s, err := postgres.Open(context.Background(), postgres.Config{URL: testenv.PostgresURL(t), Schema: schema, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, _, err := s.SessionDB(); err == nil {
			if _, err := db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`); err != nil {
				t.Errorf("drop schema %s: %v", schema, err)
			}
			_ = db.Close()
		}
		_ = s.Close()
	})
	return s
}

type host struct {
	*cluster.Coordinator
	d *driver
}

func newHost(s cluster.Store, clk *clock, id string, max int) host {
	d := &driver{adopted: map[string]bool{}}
	return host{cluster.New(cluster.Config{
		Store: s, HostID: id, URL: "http://" + id, TTL: 15 * time.Second, MaxInstances: max, Driver: d, Now: clk.Now,
		Logger: slog.New(slog.DiscardHandler),
	}), d}
}

// owners checks that every instance is held by exactly one of hosts and
// returns how many each holds.
func owners(t *testing.T, ids []string, hosts ...host) []int {
	t.Helper()
	n := make([]int, len(hosts))
	for _, id := range ids {
		var by []string
		for i, h := range hosts {
			if h.Holds(id) {
				n[i]++
				by = append(by, h.HostID())
			}
		}
		if len(by) != 1 {
			t.Fatalf("instance %s is held by %v, want exactly one host", id, by)
		}
	}
	return n
}

func TestFleet(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := openStore(t, clk.Now)
	var ids []string
	for i := range 30 {
		in, err := s.CreateInstance(ctx, storage.Instance{Name: fmt.Sprintf("fleet-%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}

	// A starts alone and leases everything; B and C join and find nothing free.
	a, b, c := newHost(s, clk, "host-a", 0), newHost(s, clk, "host-b", 0), newHost(s, clk, "host-c", 0)
	for _, h := range []host{a, b, c} {
		if err := h.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Stop(context.Background()) })
	}
	if got := owners(t, ids, a, b, c); got[0] != 30 {
		t.Fatalf("after the start, leases = %v, want all 30 on host-a", got)
	}
	if n, _ := a.d.counts(); n != 0 {
		t.Fatalf("the first pass adopted %d instances; the sessions' start connects them", n)
	}

	// Balance by hand-off: A releases its surplus (closing each first), B and C take their share.
	clk.Advance(5 * time.Second)
	for _, h := range []host{a, b, c} {
		if err := h.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		h.Settle()
	}
	if got := owners(t, ids, a, b, c); got[0] != 10 || got[1] != 10 || got[2] != 10 {
		t.Fatalf("after a hand-off, leases = %v, want 10 each", got)
	}
	if _, dropped := a.d.counts(); dropped != 20 {
		t.Fatalf("host-a closed %d instances before handing them off, want 20", dropped)
	}
	if nb, _ := b.d.counts(); nb != 10 {
		t.Fatalf("host-b adopted %d instances, want 10", nb)
	}

	// C stops renewing (SIGKILL, SIGSTOP): once its leases expire, A and B
	// take its instances over with higher tokens.
	var cLeases []storage.Lease
	for _, id := range ids {
		if l, ok := c.Lease(id); ok {
			cLeases = append(cLeases, l)
		}
	}
	for range 4 {
		clk.Advance(5 * time.Second)
		for _, h := range []host{a, b} {
			if err := h.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			h.Settle()
		}
	}
	got := owners(t, ids, a, b)
	if got[0]+got[1] != 30 || got[0] < 10 || got[1] < 10 {
		t.Fatalf("after host-c stopped, leases = %v, want all 30 shared by host-a and host-b", got)
	}
	takeovers := 0
	for _, h := range []host{a, b} {
		h.d.mu.Lock()
		for _, l := range cLeases {
			if over, ok := h.d.adopted[l.InstanceID]; ok && over {
				takeovers++
			}
		}
		h.d.mu.Unlock()
	}
	if takeovers != len(cLeases) {
		t.Fatalf("%d of host-c's %d instances were adopted as takeovers", takeovers, len(cLeases))
	}

	// C wakes up: its writes are fenced out, and its next pass closes the instances.
	fenced := cluster.Fence(s, c)
	l := cLeases[0]
	err := fenced.InTx(ctx, func(tx storage.Tx) error {
		_, err := tx.RecordDisconnect(ctx, storage.Disconnect{InstanceID: l.InstanceID, At: clk.Now(), Kind: "stream_error"})
		return err
	})
	if !errors.Is(err, storage.ErrLeaseLost) {
		t.Fatalf("a write by the host that lost the lease: err = %v, want ErrLeaseLost", err)
	}
	if rows, err := s.ListDisconnects(ctx, l.InstanceID, 0, 10); err != nil || len(rows) != 0 {
		t.Fatalf("history after a fenced write = %v, %v; want nothing", rows, err)
	}
	// In a group, the fenced unit fails alone and the others commit.
	other := cLeases[1]
	owner := a
	if b.Holds(other.InstanceID) {
		owner = b
	}
	record := func(id string) storage.Unit {
		return storage.Unit{Instance: id, Fn: func(tx storage.Tx) error {
			_, err := tx.RecordDisconnect(ctx, storage.Disconnect{InstanceID: id, At: clk.Now(), Kind: "stream_error"})
			return err
		}}
	}
	errs := cluster.Fence(s, c).InGroup(ctx, []storage.Unit{record(l.InstanceID)})
	if !errors.Is(errs[0], storage.ErrLeaseLost) {
		t.Fatalf("a grouped write by the host that lost the lease: %v, want ErrLeaseLost", errs[0])
	}
	if errs := cluster.Fence(s, owner).InGroup(ctx, []storage.Unit{record(other.InstanceID)}); errs[0] != nil {
		t.Fatalf("a grouped write by the lease holder: %v", errs[0])
	}
	if err := c.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, dropped := c.d.counts(); dropped != len(cLeases) {
		t.Fatalf("host-c closed %d instances after losing their leases, want %d", dropped, len(cLeases))
	}
	// The owner's own writes pass the fence.
	owner = a
	if b.Holds(l.InstanceID) {
		owner = b
	}
	if err := cluster.Fence(s, owner).InTx(ctx, func(tx storage.Tx) error {
		_, err := tx.RecordDisconnect(ctx, storage.Disconnect{InstanceID: l.InstanceID, At: clk.Now(), Kind: "stream_error"})
		return err
	}); err != nil {
		t.Fatalf("a write by the lease holder: %v", err)
	}

	// B stops gracefully: its leases are released, and A and C (alive
	// again, holding nothing) take them without waiting for an expiry —
	// C leaves the instances it lost alone for a TTL, A takes them.
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		for _, h := range []host{a, c} {
			if err := h.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			h.Settle()
		}
		clk.Advance(5 * time.Second)
	}
	if got := owners(t, ids, a, c); got[0] < 10 || got[1] < 10 {
		t.Fatalf("after host-b stopped, leases = %v, want all 30 shared by host-a and host-c", got)
	}
}

func TestMaxInstances(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := openStore(t, clk.Now)
	for i := range 12 {
		if _, err := s.CreateInstance(ctx, storage.Instance{Name: fmt.Sprintf("cap-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	a := newHost(s, clk, "host-a", 5)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Stop(ctx)
	for range 5 {
		clk.Advance(5 * time.Second)
		if err := a.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if a.Len() != 5 {
		t.Fatalf("host-a holds %d leases, want its cap of 5", a.Len())
	}
}

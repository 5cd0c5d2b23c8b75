package executor_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
)

// TestStormUnitsCommitApart drops many instances at once, so that their
// units of work commit in groups, and fails one of them inside its unit
// (OnEnd): that one leaves no trace and no webhook, every other one is
// recorded with its webhooks and its reconnect.
func TestStormUnitsCommitApart(t *testing.T) {
	boom := errors.New("boom")
	var bad string
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	groups := &groupSizes{Store: st}
	e := newEnvOn(t, groups, clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)), defaultPolicy(t), func(c *executor.Config) {
		c.OnEnd = func(_ context.Context, _ storage.Tx, inst storage.Instance) error {
			if inst.ID == bad {
				return boom
			}
			return nil
		}
	})
	const n = 40
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.instance("storm-"+strconv.Itoa(i), storage.StatusOpen).ID
	}
	bad = ids[n/2]
	restart := executor.Report{Event: abi.Event{Kind: abi.KindRestartRequired, Code: abi.CodeRestartRequired}, Phase: abi.PhaseOpen}
	logout := executor.Report{Event: abi.Event{Kind: abi.KindLoggedOut, Code: abi.CodeLoggedOut, Raw: "401"}, Phase: abi.PhaseOpen}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			rep := restart
			if id == bad {
				rep = logout
			}
			_, errs[i] = e.exec.HandleDisconnect(e.ctx, id, rep)
		})
	}
	wg.Wait()
	t.Logf("group sizes: %v", groups.sizes())

	evs := make(map[string]int)
	all, err := e.store.Claim(e.ctx, "test", storage.MaxPage, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range all {
		evs[ev.InstanceID]++
	}
	for i, id := range ids {
		hist, err := e.store.ListDisconnects(e.ctx, id, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := e.reload(id)
		if id == bad {
			if !errors.Is(errs[i], boom) {
				t.Fatalf("the failing unit: err = %v, want %v", errs[i], boom)
			}
			if got.Status != storage.StatusOpen || len(hist) != 0 || evs[id] != 0 {
				t.Fatalf("the failed unit left a trace: status %s, %d history rows, %d webhooks", got.Status, len(hist), evs[id])
			}
			if _, ok := e.sched.Pending(id); ok {
				t.Fatal("the failed unit scheduled a reconnect")
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if got.Status != storage.StatusConnecting || len(hist) != 1 || evs[id] != 2 {
			t.Fatalf("instance %d: status %s, %d history rows, %d webhooks; want connecting, 1, 2", i, got.Status, len(hist), evs[id])
		}
		if _, ok := e.sched.Pending(id); !ok {
			t.Fatalf("instance %d: no reconnect scheduled", i)
		}
	}
}

// groupSizes records the size of every group committed.
type groupSizes struct {
	storage.Store
	mu sync.Mutex
	n  []int
}

func (g *groupSizes) InGroup(ctx context.Context, units []storage.Unit) []error {
	g.mu.Lock()
	g.n = append(g.n, len(units))
	g.mu.Unlock()
	return g.Store.InGroup(ctx, units)
}

func (g *groupSizes) sizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.n)
}

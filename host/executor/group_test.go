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
	"github.com/wahost/wahost/storage/testenv"
)

// TestStormUnitsCommitApart drops many instances at once, so that their
// decisions read their input and commit in groups, and fails one of them
// inside its unit (OnEnd): that one leaves no trace and no webhook, every
// other one is recorded, from its own instance's state, with its
// episode, its webhooks and its reconnect.
func TestStormUnitsCommitApart(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		stormUnitsCommitApart(t, st, clk)
	})
	t.Run("postgres", func(t *testing.T) {
		st, _ := testenv.ProxiedPostgres(t, clk.Now)
		stormUnitsCommitApart(t, st, clk)
	})
}

func stormUnitsCommitApart(t *testing.T, st storage.Store, clk *clock.Fake) {
	boom := errors.New("boom")
	var bad string
	groups := &groupSizes{Store: st}
	e := newEnvOn(t, groups, clk, defaultPolicy(t), func(c *executor.Config) {
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
		inst := e.instance("storm-"+strconv.Itoa(i), storage.StatusOpen)
		inst.Attempt = i % 5 // each decision must read its own instance
		if _, err := e.store.UpdateInstance(e.ctx, inst); err != nil {
			t.Fatal(err)
		}
		ids[i] = inst.ID
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
		if hist[0].Attempt != i%5+1 || got.Attempt != i%5+1 {
			t.Fatalf("instance %d: attempt %d recorded, %d stored; want %d", i, hist[0].Attempt, got.Attempt, i%5+1)
		}
		if ep, err := e.store.OpenEpisode(e.ctx, id); err != nil || ep.Attempts != 1 {
			t.Fatalf("instance %d: open episode %+v, %v; want one with 1 attempt", i, ep, err)
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

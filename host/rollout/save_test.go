package rollout_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
	"github.com/wahost/wahost/storage/testenv"
)

// fakePolicies loads any canary and promotes it without a module.
type fakePolicies struct{}

func (fakePolicies) LoadCanary(_ context.Context, c policy.Canary) (string, abi.Settings, error) {
	return "ca" + c.Module, abi.Settings("{}"), nil
}
func (fakePolicies) CanaryPolicy() disconnect.Policy              { return nil }
func (fakePolicies) CanaryStatus() policy.SlotStatus              { return policy.SlotStatus{} }
func (fakePolicies) Promote(context.Context, policy.Canary) error { return nil }
func (fakePolicies) Settings() abi.Settings                       { return abi.Settings("{}") }
func (fakePolicies) Status() policy.Status {
	return policy.Status{Active: policy.SlotStatus{SHA256: "stable"}}
}

// TestStateAndWebhookCommitTogether: a rollback whose webhook cannot be
// queued stores neither the rolled-back state nor the webhook; the next
// check stores both, once, and later checks add nothing.
func TestStateAndWebhookCommitTogether(t *testing.T) {
	stores := map[string]func(t *testing.T) storage.Store{
		"sqlite": func(t *testing.T) storage.Store {
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
		"postgres": func(t *testing.T) storage.Store {
			s, _ := testenv.ProxiedPostgres(t, nil)
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := open(t)
			failing := true
			c := rollout.New(rollout.Config{
				Store: store, Policies: fakePolicies{}, Logger: slog.New(slog.DiscardHandler),
				Announce: func(ctx context.Context, tx storage.Tx, e rollout.Event) error {
					if failing {
						return errors.New("outbox unavailable")
					}
					payload, _ := json.Marshal(e)
					_, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: "00000000-0000-0000-0000-000000000000", Event: "policy.rollout", Payload: payload})
					return err
				},
			})
			spec := &rollout.Spec{Module: "builtin:default", Steps: []float64{50, 100},
				Step: rollout.Step{Duration: time.Hour}, Criteria: rollout.Criteria{MinEpisodes: 1, Confidence: 0.95}}
			if err := c.Configure(ctx, spec); err != nil {
				t.Fatal(err)
			}

			c.Fault(ctx, errors.New("trap")) // no fault tolerated: rolled back
			if st, _ := c.Status(); st.Status != rollout.StatusRolledBack {
				t.Fatalf("after the fault: %s, want rolled_back", st.Status)
			}
			if st, err := store.Rollout(ctx); err != nil || st.Status != rollout.StatusRunning {
				t.Fatalf("stored after the failed unit of work: %+v, %v; want running", st, err)
			}
			if n := outbox(t, store); n != 0 {
				t.Fatalf("%d webhooks queued by the failed unit of work", n)
			}

			if err := c.Check(ctx); err == nil {
				t.Fatal("Check saved while the outbox still fails")
			}
			failing = false
			for range 3 {
				if err := c.Check(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if st, err := store.Rollout(ctx); err != nil || st.Status != rollout.StatusRolledBack {
				t.Fatalf("stored after the next check: %+v, %v; want rolled_back", st, err)
			}
			if n := outbox(t, store); n != 1 {
				t.Fatalf("%d policy.rollout webhooks queued, want 1", n)
			}
		})
	}
}

// outbox counts the webhooks waiting in the outbox.
func outbox(t *testing.T, s storage.Store) int {
	t.Helper()
	evs, err := s.Claim(context.Background(), "test", 100, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestHostsShareOneRollout: two controllers on one store (two hosts on
// one database) run one rollout: a rollback by one is taken by the other
// at its next check, and its canary stops deciding there too, with one
// webhook between them.
func TestHostsShareOneRollout(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	announce := func(ctx context.Context, tx storage.Tx, e rollout.Event) error {
		payload, _ := json.Marshal(e)
		_, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: "00000000-0000-0000-0000-000000000000", Event: "policy.rollout", Payload: payload})
		return err
	}
	spec := &rollout.Spec{Module: "builtin:default", Steps: []float64{100},
		Step: rollout.Step{Duration: time.Hour}, Criteria: rollout.Criteria{MinEpisodes: 1, Confidence: 0.95}}
	var hosts [2]*rollout.Controller
	for i := range hosts {
		hosts[i] = rollout.New(rollout.Config{Store: store, Policies: fakePolicies{}, Announce: announce,
			Logger: slog.New(slog.DiscardHandler)})
		if err := hosts[i].Configure(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	a, b := hosts[0], hosts[1]
	stA, _ := a.Status()
	stB, _ := b.Status()
	if stA.ID != stB.ID {
		t.Fatalf("two rollouts: %s and %s", stA.ID, stB.ID)
	}
	if _, _, arm := b.Canary("any"); arm != "canary" {
		t.Fatalf("before the rollback the canary decides on b: arm %q", arm)
	}
	a.Fault(ctx, errors.New("trap"))
	if err := b.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Status(); st.Status != rollout.StatusRolledBack {
		t.Fatalf("b after a's rollback: %s", st.Status)
	}
	if p, _, arm := b.Canary("any"); p != nil || arm != "" {
		t.Fatalf("b's canary still decides after a's rollback (arm %q)", arm)
	}
	if n := outbox(t, store); n != 1 {
		t.Fatalf("%d policy.rollout webhooks, want 1", n)
	}
}

package executor_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// TestResetCommitsBeforeCleaning: a reset whose unit of work fails to
// commit leaves the session keys, the cache and the files alone (and the
// instance as it was); once it commits, all three are removed.
func TestResetCommitsBeforeCleaning(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	e := newEnv(t, defaultPolicy(t), func(c *executor.Config) {
		c.OnEnd = func(context.Context, storage.Tx, storage.Instance) error {
			if refuse.Load() {
				return errors.New("the message store refused")
			}
			return nil
		}
	})
	inst := e.instance("resettable", storage.StatusOpen)
	if err := e.cache.Set(e.ctx, inst.ID, "chats", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	path, err := e.dir.MakeInstance(inst.Name)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := e.exec.Reset(e.ctx, inst.ID); err == nil {
		t.Fatal("Reset succeeded though its unit of work failed")
	}
	if ops := e.sessions.ops(); len(ops) != 0 {
		t.Fatalf("a reset that did not commit touched the session: %v", ops)
	}
	if _, err := e.cache.Get(e.ctx, inst.ID, "chats"); err != nil {
		t.Fatalf("a reset that did not commit purged the cache: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a reset that did not commit removed the files: %v", err)
	}
	if got := e.reload(inst.ID); got.Status != storage.StatusOpen || got.OwnerJID == "" {
		t.Fatalf("instance after the failed reset = %+v", got)
	}
	if evs := e.events(inst.ID); len(evs) != 0 {
		t.Fatalf("a reset that did not commit queued %v", names(evs))
	}

	refuse.Store(false)
	rep, err := e.exec.Reset(e.ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Session != 7 || rep.CacheKeys != 1 || !rep.Files {
		t.Fatalf("cleanup = %+v", rep)
	}
	if ops := e.sessions.ops(); !slices.Contains(ops, "reset "+inst.ID) {
		t.Fatalf("session operations = %v, want the keys reset", ops)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("instance directory still there: %v", err)
	}
	if got := e.reload(inst.ID); got.Status != storage.StatusClose || got.OwnerJID != "" {
		t.Fatalf("instance after the reset = %+v", got)
	}
}

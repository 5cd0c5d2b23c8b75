package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wahost/wahost/storage"
)

// testCommitter checks storage.Committer on the store: units sent from
// many goroutines at once all commit, each caller's in the order it sent
// them; a unit that fails fails alone and keeps nothing; a unit whose
// context ended before its group is not run.
func testCommitter(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	cm := &storage.Committer{Store: s, Max: 8, Leaders: 2}
	const callers, each = 12, 10
	ids := make([]string, callers)
	for i := range ids {
		ids[i] = newInstance(t, s, fmt.Sprintf("committer-%d", i)).ID
	}
	boom := errors.New("boom")
	var wg sync.WaitGroup
	for w, id := range ids {
		wg.Go(func() {
			for i := range each {
				err := cm.Do(ctx, storage.Unit{Instance: id, Fn: func(tx storage.Tx) error {
					if _, err := tx.Enqueue(ctx, streamEntry(id, fmt.Sprintf("unit.%d", i))); err != nil {
						return err
					}
					if w%3 == 0 && i%4 == 1 {
						return boom // after its write, which must not be kept
					}
					return nil
				}})
				if failing := w%3 == 0 && i%4 == 1; failing != errors.Is(err, boom) {
					t.Errorf("caller %d unit %d: Do = %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	for w, id := range ids {
		got := try(s.EventsAfter(ctx, 0, storage.EventFilter{InstanceID: id}, storage.MaxPage)).must(t)
		var want []string
		for i := range each {
			if !(w%3 == 0 && i%4 == 1) {
				want = append(want, fmt.Sprintf("unit.%d", i))
			}
		}
		if len(got) != len(want) {
			t.Fatalf("caller %d: %d entries stored, want %d", w, len(got), len(want))
		}
		for i := range got {
			if got[i].Event != want[i] {
				t.Fatalf("caller %d: entry %d is %s, want %s", w, i, got[i].Event, want[i])
			}
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	if err := cm.Do(done, storage.Unit{Fn: func(storage.Tx) error { ran = true; return nil }}); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Do with an ended context = %v, ran %t; want context.Canceled, not run", err, ran)
	}
}

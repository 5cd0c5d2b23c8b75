package storagetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// Sizes of the concurrent claim test: every row must be claimed exactly
// once by one of the workers.
const (
	claimWorkers = 8
	claimRows    = 10000
	claimBatch   = 50
)

// EnqueueN enqueues n events for instanceID in one unit of work.
func EnqueueN(t testing.TB, s storage.Store, instanceID string, n int) {
	t.Helper()
	ctx := ctxFor(t)
	err := s.InTx(ctx, func(tx storage.Tx) error {
		for i := 0; i < n; i++ {
			_, err := tx.Enqueue(ctx, storage.OutboxEvent{
				InstanceID: instanceID, Event: "connection.update",
				Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)),
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testOutboxConcurrentClaims(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	EnqueueN(t, s, storage.NewID(), claimRows)

	var mu sync.Mutex // guards seen
	seen := make(map[string]string, claimRows)
	var wg sync.WaitGroup
	errs := make(chan error, claimWorkers)
	for w := 0; w < claimWorkers; w++ {
		worker := fmt.Sprintf("worker-%d", w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				evs, err := s.Claim(ctx, worker, claimBatch, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(evs) == 0 {
					return
				}
				mu.Lock()
				for _, ev := range evs {
					if prev, dup := seen[ev.ID]; dup {
						mu.Unlock()
						errs <- fmt.Errorf("event %s claimed by %s and %s", ev.ID, prev, worker)
						return
					}
					seen[ev.ID] = worker
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != claimRows {
		t.Fatalf("claimed %d distinct events, want %d", len(seen), claimRows)
	}
	if left := try(s.Claim(ctx, "late", 10, time.Hour)).must(t); len(left) != 0 {
		t.Fatalf("%d events still claimable", len(left))
	}
}

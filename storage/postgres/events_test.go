package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
)

// TestEventSeqFollowsCommitOrder: a unit of work that enqueues first but
// commits last gets the higher seq, so a reader that has seen the other
// entry never misses it.
func TestEventSeqFollowsCommitOrder(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Config{MaxConns: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	entry := func(event string) storage.OutboxEvent {
		return storage.OutboxEvent{InstanceID: storage.NewID(), Event: event, Payload: json.RawMessage(`{}`), Stream: true}
	}
	enqueued, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.InTx(ctx, func(tx storage.Tx) error {
			if _, err := tx.Enqueue(ctx, entry("first.enqueued")); err != nil {
				return err
			}
			close(enqueued)
			<-proceed
			return nil
		})
	}()
	<-enqueued
	if err := s.InTx(ctx, func(tx storage.Tx) error {
		_, err := tx.Enqueue(ctx, entry("first.committed"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	seen, err := s.EventsAfter(ctx, 0, storage.EventFilter{}, 0)
	if err != nil || len(seen) != 1 || seen[0].Event != "first.committed" || seen[0].Seq != 1 {
		t.Fatalf("before the other commit: EventsAfter = %+v, %v; want first.committed at 1", seen, err)
	}
	close(proceed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rest, err := s.EventsAfter(ctx, seen[0].Seq, storage.EventFilter{}, 0)
	if err != nil || len(rest) != 1 || rest[0].Event != "first.enqueued" || rest[0].Seq != 2 {
		t.Fatalf("after it: EventsAfter(1) = %+v, %v; want first.enqueued at 2", rest, err)
	}
}

// TestEventStreamUnderConcurrentCommits: units of work commit stream
// entries from several goroutines, alone and in groups, while readers
// follow the stream. Every reader sees seqs that only increase, and in the
// end every entry exactly once, numbered 1 to n without a hole: none was
// numbered below a position a reader had already passed.
func TestEventStreamUnderConcurrentCommits(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Config{MaxConns: 12})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const writers, perWriter = 6, 40
	entry := func(w, i int) storage.OutboxEvent {
		return storage.OutboxEvent{InstanceID: storage.NewID(), Event: fmt.Sprintf("w%d.e%d", w, i),
			Payload: json.RawMessage(`{}`), Stream: true}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < perWriter; i += 2 {
				if w%2 == 0 { // two entries in one unit of work
					err := s.InTx(ctx, func(tx storage.Tx) error {
						for _, ev := range []storage.OutboxEvent{entry(w, i), entry(w, i+1)} {
							if _, err := tx.Enqueue(ctx, ev); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					continue
				}
				units := []storage.Unit{} // two units in one group
				for _, ev := range []storage.OutboxEvent{entry(w, i), entry(w, i+1)} {
					units = append(units, storage.Unit{Fn: func(tx storage.Tx) error {
						_, err := tx.Enqueue(ctx, ev)
						return err
					}})
				}
				for _, err := range s.InGroup(ctx, units) {
					if err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	total := writers * perWriter
	follow := func() []storage.OutboxEvent {
		var seen []storage.OutboxEvent
		var pos int64
		for len(seen) < total {
			evs, err := s.EventsAfter(ctx, pos, storage.EventFilter{}, 7)
			if err != nil {
				t.Error(err)
				return seen
			}
			for _, ev := range evs {
				if ev.Seq <= pos {
					t.Errorf("seq %d after %d", ev.Seq, pos)
				}
				pos = ev.Seq
			}
			seen = append(seen, evs...)
		}
		return seen
	}
	readers := make([][]storage.OutboxEvent, 3)
	var rg sync.WaitGroup
	for r := range readers {
		rg.Go(func() { readers[r] = follow() })
	}
	wg.Wait()
	rg.Wait()
	for r, seen := range readers {
		names := map[string]bool{}
		for i, ev := range seen {
			if ev.Seq != int64(i+1) || names[ev.Event] {
				t.Fatalf("reader %d: entry %d is %s at seq %d", r, i, ev.Event, ev.Seq)
			}
			names[ev.Event] = true
		}
		if len(names) != total {
			t.Fatalf("reader %d saw %d entries, want %d", r, len(names), total)
		}
	}
	// Enqueue order within a unit of work and a group is kept.
	at := map[string]int64{}
	for _, ev := range readers[0] {
		at[ev.Event] = ev.Seq
	}
	for w := range writers {
		for i := 0; i < perWriter; i += 2 {
			if a, b := at[fmt.Sprintf("w%d.e%d", w, i)], at[fmt.Sprintf("w%d.e%d", w, i+1)]; a >= b {
				t.Fatalf("w%d.e%d at %d, then w%d.e%d at %d", w, i, a, w, i+1, b)
			}
		}
	}
}

// TestPruneNumbersPendingEntries: entries no reader has numbered yet are
// numbered before pruning, so a reader resuming before them is told of
// the gap instead of never hearing of them.
func TestPruneNumbersPendingEntries(t *testing.T) {
	t.Parallel()
	s := openTest(t, postgres.Config{MaxConns: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 3 {
		if err := s.InTx(ctx, func(tx storage.Tx) error {
			_, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: storage.NewID(), Event: fmt.Sprintf("e.%d", i),
				Payload: json.RawMessage(`{}`), Stream: true})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	pruned, err := s.PruneDelivered(ctx, time.Now().Add(time.Hour), storage.MaxPage)
	if err != nil || pruned != 2 {
		t.Fatalf("PruneDelivered = %d, %v; want the two older entries", pruned, err)
	}
	first, last, err := s.EventBounds(ctx)
	if err != nil || first != 3 || last != 3 {
		t.Fatalf("EventBounds = %d, %d, %v; want 3, 3", first, last, err)
	}
}

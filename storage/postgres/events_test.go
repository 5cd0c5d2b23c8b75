package postgres_test

import (
	"context"
	"encoding/json"
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

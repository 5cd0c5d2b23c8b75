package storagetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// writeAll does what the executor does for one disconnect: state, history
// and outbox in one unit of work.
func writeAll(t testing.TB, tx storage.Tx, id string, c *Clock) error {
	ctx := ctxFor(t)
	in, err := tx.Instance(ctx, id)
	if err != nil {
		return err
	}
	in.Status, in.Attempt = storage.StatusConnecting, in.Attempt+1
	if _, err := tx.UpdateInstance(ctx, in); err != nil {
		return err
	}
	if _, err := tx.RecordDisconnect(ctx, sampleDisconnect(id, c.Now(), 428)); err != nil {
		return err
	}
	_, err = tx.Enqueue(ctx, storage.OutboxEvent{
		InstanceID: id, Event: "connection.update", Payload: json.RawMessage(`{"state":"connecting"}`),
	})
	return err
}

func testUnitOfWork(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "uow")
	boom := errors.New("boom")

	count := func() (attempt, history, outbox int) {
		t.Helper()
		got := try(s.Instance(ctx, in.ID)).must(t)
		hist := try(s.ListDisconnects(ctx, in.ID, 0, 100)).must(t)
		evs := try(s.Claim(ctx, "counter", 100, time.Minute)).must(t)
		for _, ev := range evs {
			if err := s.MarkRetry(ctx, ev.ID, c.Now(), ""); err != nil {
				t.Fatal(err)
			}
		}
		return got.Attempt, len(hist), len(evs)
	}

	t.Run("rollback on error", func(t *testing.T) {
		err := s.InTx(ctx, func(tx storage.Tx) error {
			if err := writeAll(t, tx, in.ID, c); err != nil {
				return err
			}
			return boom
		})
		wantErr(t, err, boom)
		if a, h, o := count(); a != 0 || h != 0 || o != 0 {
			t.Fatalf("after rollback: attempt %d, history %d, outbox %d; want none", a, h, o)
		}
	})
	t.Run("rollback on panic", func(t *testing.T) {
		func() {
			defer func() {
				if p := recover(); p != "kaboom" {
					t.Fatalf("recovered %v, want the panic re-raised", p)
				}
			}()
			_ = s.InTx(ctx, func(tx storage.Tx) error {
				if err := writeAll(t, tx, in.ID, c); err != nil {
					t.Error(err)
				}
				panic("kaboom")
			})
		}()
		if a, h, o := count(); a != 0 || h != 0 || o != 0 {
			t.Fatalf("after panic: attempt %d, history %d, outbox %d; want none", a, h, o)
		}
	})
	t.Run("rollback on failing write", func(t *testing.T) {
		err := s.InTx(ctx, func(tx storage.Tx) error {
			if err := writeAll(t, tx, in.ID, c); err != nil {
				return err
			}
			_, err := tx.RecordDisconnect(ctx, storage.Disconnect{InstanceID: storage.NewID(), At: c.Now(), Kind: "x"})
			return err
		})
		wantErr(t, err, storage.ErrNotFound)
		if a, h, o := count(); a != 0 || h != 0 || o != 0 {
			t.Fatalf("after failed write: attempt %d, history %d, outbox %d; want none", a, h, o)
		}
	})
	t.Run("commit", func(t *testing.T) {
		if err := s.InTx(ctx, func(tx storage.Tx) error { return writeAll(t, tx, in.ID, c) }); err != nil {
			t.Fatal(err)
		}
		if a, h, o := count(); a != 1 || h != 1 || o != 1 {
			t.Fatalf("after commit: attempt %d, history %d, outbox %d; want 1 each", a, h, o)
		}
	})
}

// testUnitOfWorkSerialises checks that Instance inside a unit of work locks
// the row: concurrent read-modify-write cycles lose no update.
func testUnitOfWorkSerialises(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "counter")
	const workers, rounds = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				err := s.InTx(ctx, func(tx storage.Tx) error {
					cur, err := tx.Instance(ctx, in.ID)
					if err != nil {
						return err
					}
					cur.QRCount++
					_, err = tx.UpdateInstance(ctx, cur)
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := try(s.Instance(ctx, in.ID)).must(t); got.QRCount != workers*rounds {
		t.Fatalf("QRCount = %d, want %d", got.QRCount, workers*rounds)
	}
}

func testDeleteCascades(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "doomed")
	if err := s.PutSettings(ctx, in.ID, storage.InstanceSettings{QRLimit: 3}); err != nil {
		t.Fatal(err)
	}
	try(s.RecordDisconnect(ctx, sampleDisconnect(in.ID, c.Now(), 401))).must(t)
	try(s.PutEpisode(ctx, storage.Episode{InstanceID: in.ID, StartedAt: c.Now()})).must(t)
	try(s.AcquireLease(ctx, in.ID, "host-a", time.Minute)).must(t)
	insert(t, s, outgoing(in.ID, "QUEUED", "key"))
	insert(t, s, incoming(in.ID, "IN", c.Now()))
	var ev storage.OutboxEvent
	err := s.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.DeleteInstance(ctx, in.ID); err != nil {
			return err
		}
		var err error
		ev, err = tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: in.ID, Event: "remove.instance", Payload: json.RawMessage(`{}`)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Settings(ctx, in.ID)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.Lease(ctx, in.ID)
	wantErr(t, err, storage.ErrNotFound)
	if h := try(s.ListDisconnects(ctx, in.ID, 0, 10)).must(t); len(h) != 0 {
		t.Fatalf("history left after delete: %d rows", len(h))
	}
	_, err = s.OpenEpisode(ctx, in.ID)
	wantErr(t, err, storage.ErrNotFound)
	for _, e := range try(s.Episodes(ctx, time.Time{})).must(t) {
		if e.InstanceID == in.ID {
			t.Fatalf("episode left after delete: %+v", e)
		}
	}
	if got := try(s.InstancesWithQueued(ctx)).must(t); len(got) != 0 {
		t.Fatalf("queued messages left after delete: %v", got)
	}
	for _, id := range []string{"QUEUED", "IN"} {
		_, err = s.Message(ctx, in.ID, id)
		wantErr(t, err, storage.ErrNotFound)
	}
	if got := try(s.OutboxEvent(ctx, ev.ID)).must(t); got.InstanceID != in.ID {
		t.Fatalf("outbox event lost with its instance: %+v", got)
	}
	// The name is free again.
	again := newInstance(t, s, "doomed")

	// Deleted outside a unit of work, the same.
	try(s.RecordDisconnect(ctx, sampleDisconnect(again.ID, c.Now(), 401))).must(t)
	try(s.PutEpisode(ctx, storage.Episode{InstanceID: again.ID, StartedAt: c.Now()})).must(t)
	if err := s.DeleteInstance(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
	if h := try(s.ListDisconnects(ctx, again.ID, 0, 10)).must(t); len(h) != 0 {
		t.Fatalf("history left after delete: %d rows", len(h))
	}
	_, err = s.OpenEpisode(ctx, again.ID)
	wantErr(t, err, storage.ErrNotFound)

	// Nothing is written for an instance that is gone.
	_, err = s.RecordDisconnect(ctx, sampleDisconnect(again.ID, c.Now(), 401))
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.PutEpisode(ctx, storage.Episode{InstanceID: again.ID, StartedAt: c.Now()})
	wantErr(t, err, storage.ErrNotFound)
}

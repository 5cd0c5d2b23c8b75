package storagetest

import (
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/wahost/wahost/storage"
)

// testNotifyOutbox checks that the outbox watcher hears of every commit
// that wrote outbox rows, and of nothing else.
func testNotifyOutbox(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "watched")
	var heard atomic.Int64
	s.NotifyOutbox(func() { heard.Add(1) })
	enqueue := func(tx storage.Tx) error {
		_, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: in.ID, Event: "connection.update", Payload: json.RawMessage(`{}`)})
		return err
	}
	boom := errors.New("boom")
	steps := []struct {
		name string
		do   func() error
		want int64
	}{
		{"unit of work", func() error { return s.InTx(ctx, enqueue) }, 1},
		{"rolled back", func() error {
			if err := s.InTx(ctx, func(tx storage.Tx) error { _ = enqueue(tx); return boom }); !errors.Is(err, boom) {
				return err
			}
			return nil
		}, 0},
		{"no outbox row", func() error { return writeAllButOutbox(t, s, in.ID, c) }, 0},
		{"alone", func() error { return enqueue(s) }, 1},
		{"group", func() error {
			return errors.Join(s.InGroup(ctx, []storage.Unit{{Fn: enqueue}, {Fn: enqueue}})...)
		}, 1},
		{"group that failed", func() error {
			errs := s.InGroup(ctx, []storage.Unit{
				{Fn: func(tx storage.Tx) error { _ = enqueue(tx); return boom }},
				{Fn: func(tx storage.Tx) error { _ = enqueue(tx); return boom }},
			})
			if !errors.Is(errs[0], boom) || !errors.Is(errs[1], boom) {
				return errors.Join(errs...)
			}
			return nil
		}, 0},
	}
	for _, st := range steps {
		before := heard.Load()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := heard.Load() - before; got != st.want {
			t.Fatalf("%s: heard %d times, want %d", st.name, got, st.want)
		}
	}
}

// writeAllButOutbox commits a state change with no webhook.
func writeAllButOutbox(t testing.TB, s storage.Store, id string, c *Clock) error {
	return s.InTx(ctxFor(t), func(tx storage.Tx) error {
		_, err := tx.RecordDisconnect(ctxFor(t), sampleDisconnect(id, c.Now(), 428))
		return err
	})
}

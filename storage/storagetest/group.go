package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// groupUnit is the executor's disconnect as a unit of a group: state,
// history, a webhook and its event stream entry. With named, the unit
// names its instance (storage.Unit.Instance).
func groupUnit(t testing.TB, id string, c *Clock, named bool) storage.Unit {
	var inst string
	if named {
		inst = id
	}
	return storage.Unit{Instance: inst, Fn: func(tx storage.Tx) error {
		if err := writeAll(t, tx, id, c); err != nil {
			return err
		}
		_, err := tx.Enqueue(ctxFor(t), storage.OutboxEvent{
			InstanceID: id, Event: "connection.update", Payload: json.RawMessage(`{"state":"connecting"}`), Stream: true,
		})
		return err
	}}
}

// written counts what the units of work of an instance left: its attempt
// (one per committed unit), its history rows, its webhook rows and its
// event stream entries.
func written(t testing.TB, s storage.Store, id string) (attempt, history, outbox, stream int) {
	t.Helper()
	ctx := ctxFor(t)
	in := try(s.Instance(ctx, id)).must(t)
	hist := try(s.ListDisconnects(ctx, id, 0, 100)).must(t)
	evs := try(s.InstanceDeliveries(ctx, id, 100)).must(t)
	entries := try(s.EventsAfter(ctx, 0, storage.EventFilter{InstanceID: id}, 100)).must(t)
	return in.Attempt, len(hist), len(evs), len(entries)
}

func wantWritten(t testing.TB, s storage.Store, id string, n int) {
	t.Helper()
	if a, h, o, e := written(t, s, id); a != n || h != n || o != n || e != n {
		t.Fatalf("instance %s: attempt %d, history %d, outbox %d, stream %d; want %d each", id, a, h, o, e, n)
	}
}

// testGroupCommit checks Store.InGroup: every unit of a group keeps the
// promises of a unit of work alone, whatever the others do; whether or
// not the units name their instance.
func testGroupCommit(t *testing.T, s storage.Store, c *Clock) {
	for _, named := range []bool{false, true} {
		t.Run(fmt.Sprintf("named=%t", named), func(t *testing.T) { groupCommit(t, s, c, named) })
	}
}

func groupCommit(t *testing.T, s storage.Store, c *Clock, named bool) {
	ctx := ctxFor(t)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = newInstance(t, s, fmt.Sprintf("group-%t-%d", named, i)).ID
	}
	boom := errors.New("boom")
	var lastSeq int64
	if prior := try(s.EventsAfter(ctx, 0, storage.EventFilter{}, storage.MaxPage)).must(t); len(prior) > 0 {
		lastSeq = prior[len(prior)-1].Seq
	}
	groupUnit := func(t testing.TB, id string, c *Clock) storage.Unit { return groupUnit(t, id, c, named) }

	t.Run("all commit", func(t *testing.T) {
		units := make([]storage.Unit, len(ids))
		for i, id := range ids {
			units[i] = groupUnit(t, id, c)
		}
		for i, err := range s.InGroup(ctx, units) {
			if err != nil {
				t.Fatalf("unit %d: %v", i, err)
			}
		}
		for _, id := range ids {
			wantWritten(t, s, id, 1)
		}
		// The stream entries are numbered in the order their units ran.
		entries := try(s.EventsAfter(ctx, lastSeq, storage.EventFilter{}, 100)).must(t)
		if len(entries) != len(ids) {
			t.Fatalf("%d stream entries, want %d", len(entries), len(ids))
		}
		for i, e := range entries {
			if e.InstanceID != ids[i] || (i > 0 && e.Seq <= entries[i-1].Seq) {
				t.Fatalf("entry %d: instance %s seq %d; want the units' order", i, e.InstanceID, e.Seq)
			}
		}
	})

	// Each failing unit wrote before it failed: nothing of it may stay,
	// and the units around it commit.
	fails := []struct {
		name string
		fail func(tx storage.Tx) error
		want error
	}{
		{"error returned", func(storage.Tx) error { return boom }, boom},
		{"failing statement", func(tx storage.Tx) error {
			// The database refuses it: on PostgreSQL the transaction is
			// aborted, and the group must still commit the others.
			_, err := tx.RecordDisconnect(ctx, storage.Disconnect{InstanceID: storage.NewID(), At: c.Now(), Kind: "x"})
			return err
		}, storage.ErrNotFound},
	}
	for round, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			units := make([]storage.Unit, len(ids))
			for i, id := range ids {
				units[i] = groupUnit(t, id, c)
			}
			bad := units[2]
			units[2].Fn = func(tx storage.Tx) error {
				if err := bad.Fn(tx); err != nil {
					return err
				}
				return f.fail(tx)
			}
			errs := s.InGroup(ctx, units)
			for i, err := range errs {
				if i == 2 {
					wantErr(t, err, f.want)
				} else if err != nil {
					t.Fatalf("unit %d: %v", i, err)
				}
			}
			for i, id := range ids {
				want := round + 2
				if i == 2 {
					want = 1 // only "all commit"'s
				}
				wantWritten(t, s, id, want)
			}
		})
	}

	t.Run("fence", func(t *testing.T) {
		held := try(s.AcquireLease(ctx, ids[0], "host-a", time.Minute)).must(t)
		lost := try(s.AcquireLease(ctx, ids[1], "host-a", time.Minute)).must(t)
		if err := s.ReleaseLease(ctx, lost); err != nil {
			t.Fatal(err)
		}
		fenced := func(l storage.Lease) storage.Unit {
			u := groupUnit(t, l.InstanceID, c)
			u.Fence = func(tx storage.Tx) error { return tx.CheckLease(ctx, l) }
			return u
		}
		errs := s.InGroup(ctx, []storage.Unit{fenced(held), fenced(lost), groupUnit(t, ids[3], c)})
		if errs[0] != nil || errs[2] != nil {
			t.Fatalf("units with the lease held or no fence: %v, %v", errs[0], errs[2])
		}
		wantErr(t, errs[1], storage.ErrLeaseLost)
		wantWritten(t, s, ids[0], 4)
		wantWritten(t, s, ids[1], 3)
		wantWritten(t, s, ids[3], 4)
	})

	t.Run("same instance in order", func(t *testing.T) {
		var order []int
		unit := func(n int) storage.Unit {
			u := storage.Unit{Fn: func(tx storage.Tx) error {
				cur, err := tx.Instance(ctx, ids[4])
				if err != nil {
					return err
				}
				cur.QRCount = cur.QRCount*10 + n
				if _, err := tx.UpdateInstance(ctx, cur); err != nil {
					return err
				}
				order = append(order, n)
				return nil
			}}
			if named {
				u.Instance = ids[4]
			}
			return u
		}
		for i, err := range s.InGroup(ctx, []storage.Unit{unit(1), unit(2), unit(3)}) {
			if err != nil {
				t.Fatalf("unit %d: %v", i, err)
			}
		}
		if got := try(s.Instance(ctx, ids[4])).must(t); got.QRCount != 123 {
			t.Fatalf("QRCount = %d after units 1, 2, 3; want 123 (%v)", got.QRCount, order)
		}
	})

	t.Run("empty", func(t *testing.T) {
		if errs := s.InGroup(ctx, nil); len(errs) != 0 {
			t.Fatalf("errs = %v, want none", errs)
		}
	})
}

// testGroupsConcurrent commits groups from several goroutines at once,
// each group touching the same instances in a different order: no update
// is lost and no unit fails.
func testGroupsConcurrent(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	const instances, workers, rounds = 3, 2, 2
	ids := make([]string, instances)
	for i := range ids {
		ids[i] = newInstance(t, s, fmt.Sprintf("concurrent-%d", i)).ID
	}
	bump := func(id string, named bool) storage.Unit {
		u := storage.Unit{Fn: func(tx storage.Tx) error {
			cur, err := tx.Instance(ctx, id)
			if err != nil {
				return err
			}
			cur.QRCount++
			_, err = tx.UpdateInstance(ctx, cur)
			return err
		}}
		if named {
			u.Instance = id
		}
		return u
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*instances)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				units := make([]storage.Unit, instances)
				for i := range units {
					// Each worker its own lock order; the second names
					// the instances, which a store may lock up front.
					units[i] = bump(ids[(i+w)%instances], w == 1)
				}
				for _, err := range s.InGroup(ctx, units) {
					if err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range ids {
		if got := try(s.Instance(ctx, id)).must(t); got.QRCount != workers*rounds {
			t.Fatalf("QRCount = %d, want %d", got.QRCount, workers*rounds)
		}
	}
}

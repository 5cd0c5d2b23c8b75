package storagetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// testOutboxLanes checks that broker rows leave in the order of their
// lane (instance and destination): a claim never returns a row while an
// earlier pending row of its lane stays behind, unless the claiming
// worker holds that row already.
func testOutboxLanes(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	inst := storage.NewID()
	const dst = "rabbitmq:instance:lanes"
	put := func(dest string) storage.OutboxEvent {
		return try(s.Enqueue(ctx, storage.OutboxEvent{InstanceID: inst, Event: "messages.upsert",
			Payload: json.RawMessage(`{}`), Destination: dest})).must(t)
	}
	mine := func(evs []storage.OutboxEvent) []string {
		var out []string
		for _, ev := range evs {
			if ev.InstanceID == inst {
				out = append(out, ev.ID)
			}
		}
		return out
	}
	// next claims one row at a time until one comes; a claim may find
	// only rows that must wait and move them behind the row they wait for.
	next := func(worker string, want storage.OutboxEvent) {
		t.Helper()
		for range 5 {
			got := mine(try(s.Claim(ctx, worker, 1, time.Hour)).must(t))
			if len(got) == 0 {
				continue
			}
			if len(got) != 1 || got[0] != want.ID {
				t.Fatalf("%s claims %v, want %s", worker, got, want.ID)
			}
			return
		}
		t.Fatalf("%s claims nothing, want %s", worker, want.ID)
	}
	claim := func(worker string, n int, want ...storage.OutboxEvent) {
		t.Helper()
		got := mine(try(s.Claim(ctx, worker, n, time.Hour)).must(t))
		if !slices.Equal(got, eventIDs(want)) {
			t.Fatalf("%s claims %v, want %v", worker, got, eventIDs(want))
		}
	}

	// r1 waits for a retry: the rest of its lane waits for it, except for
	// the worker that holds it; other lanes and webhooks do not wait.
	r1, r2, r3 := put(dst), put(dst), put(dst)
	other := put("nats:instance:lanes")
	hook := put("")
	claim("w1", 1, r1)
	try(0, s.MarkRetry(ctx, r1.ID, c.Now().Add(time.Minute), "broker down")).must(t)
	claim("w2", 100, other, hook)
	claim("w1", 100, r2, r3)
	for _, ev := range []storage.OutboxEvent{r2, r3} {
		try(0, s.MarkRetry(ctx, ev.ID, c.Now().Add(time.Second), "")).must(t)
	}

	// r2 and r3 are due before r1: nobody else may take them first, and
	// once everything is due r1 leaves first, even one at a time (a claim
	// that finds only rows behind it moves them after it).
	c.Advance(2 * time.Second)
	claim("w2", 100)
	c.Advance(time.Minute)
	next("w2", r1)
	claim("w3", 100)
	try(0, s.MarkDelivered(ctx, r1.ID)).must(t)
	claim("w3", 100, r2, r3)
	for _, ev := range []storage.OutboxEvent{r2, r3, other, hook} {
		try(0, s.MarkDelivered(ctx, ev.ID)).must(t)
	}

	// q, p, r with p due before q and q before r: one at a time they
	// leave in their order; together in one claim.
	q, p, r := put(dst), put(dst), put(dst)
	try(0, s.MarkRetry(ctx, q.ID, c.Now().Add(2*time.Second), "")).must(t)
	try(0, s.MarkRetry(ctx, p.ID, c.Now().Add(time.Second), "")).must(t)
	try(0, s.MarkRetry(ctx, r.ID, c.Now().Add(3*time.Second), "")).must(t)
	c.Advance(3 * time.Second)
	next("w4", q)
	next("w4", p)
	next("w4", r)
	q2, p2, r2 := put(dst), put(dst), put(dst)
	try(0, s.MarkRetry(ctx, q2.ID, c.Now().Add(2*time.Second), "")).must(t)
	try(0, s.MarkRetry(ctx, p2.ID, c.Now().Add(time.Second), "")).must(t)
	c.Advance(3 * time.Second)
	for _, ev := range []storage.OutboxEvent{q, p, r} {
		try(0, s.MarkDelivered(ctx, ev.ID)).must(t)
	}
	claim("w5", 100, q2, p2, r2)
}

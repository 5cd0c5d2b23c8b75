package storagetest

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func streamEntry(instanceID, event string) storage.OutboxEvent {
	return storage.OutboxEvent{InstanceID: instanceID, Event: event, Payload: json.RawMessage(`{"event":"` + event + `"}`), Stream: true}
}

func seqs(evs []storage.OutboxEvent) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func testEventStream(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	a, b := storage.NewID(), storage.NewID()
	if first, last := try2(t)(s.EventBounds(ctx)); first != 0 || last != 0 {
		t.Fatalf("EventBounds of an empty stream = %d, %d", first, last)
	}
	// Alone, an entry is numbered at once.
	e1 := try(s.Enqueue(ctx, streamEntry(a, "qrcode.updated"))).must(t)
	if e1.Seq != 1 || !e1.Stream || e1.Pending() {
		t.Fatalf("Enqueue(stream) = %+v, want seq 1, stored delivered", e1)
	}
	// In a unit of work, entries are numbered in enqueue order at commit;
	// deliveries written beside them get no seq.
	var delivery storage.OutboxEvent
	if err := s.InTx(ctx, func(tx storage.Tx) error {
		for _, ev := range []storage.OutboxEvent{streamEntry(b, "connection.update"), streamEntry(a, "connection.update")} {
			if _, err := tx.Enqueue(ctx, ev); err != nil {
				return err
			}
		}
		var err error
		delivery, err = tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: a, Event: "connection.update", Payload: json.RawMessage(`{}`)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	all := try(s.EventsAfter(ctx, 0, storage.EventFilter{}, 0)).must(t)
	if got := seqs(all); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 || all[1].InstanceID != b {
		t.Fatalf("EventsAfter(0) seqs = %v (instances %v), want 1 2 3 with b second", got, all)
	}
	if string(all[0].Payload) != string(e1.Payload) || all[0].Event != "qrcode.updated" {
		t.Fatalf("entry 1 = %+v", all[0])
	}
	if first, last := try2(t)(s.EventBounds(ctx)); first != 1 || last != 3 {
		t.Fatalf("EventBounds = %d, %d, want 1, 3", first, last)
	}
	cases := []struct {
		name  string
		after int64
		f     storage.EventFilter
		limit int
		want  []int64
	}{
		{"after", 1, storage.EventFilter{}, 0, []int64{2, 3}},
		{"limit", 0, storage.EventFilter{}, 2, []int64{1, 2}},
		{"instance", 0, storage.EventFilter{InstanceID: a}, 0, []int64{1, 3}},
		{"event", 0, storage.EventFilter{Events: []string{"connection.update"}}, 0, []int64{2, 3}},
		{"both", 0, storage.EventFilter{InstanceID: a, Events: []string{"qrcode.updated", "x.y"}}, 0, []int64{1}},
		{"none", 3, storage.EventFilter{}, 0, []int64{}},
	}
	for _, tc := range cases {
		got := seqs(try(s.EventsAfter(ctx, tc.after, tc.f, tc.limit)).must(t))
		if len(got) != len(tc.want) {
			t.Fatalf("%s: EventsAfter = %v, want %v", tc.name, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: EventsAfter = %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	// Stream entries are never claimed, failed or listed as deliveries.
	claimed := try(s.Claim(ctx, "w1", 10, time.Minute)).must(t)
	if len(claimed) != 1 || claimed[0].ID != delivery.ID || claimed[0].Seq != 0 {
		t.Fatalf("Claim = %+v, want only the delivery", claimed)
	}
	if d := try(s.InstanceDeliveries(ctx, a, 0)).must(t); len(d) != 1 || d[0].ID != delivery.ID {
		t.Fatalf("InstanceDeliveries(a) = %v, want the delivery", eventIDs(d))
	}

	// A rolled-back unit of work leaves no entry and no hole.
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(tx storage.Tx) error {
		if _, err := tx.Enqueue(ctx, streamEntry(a, "logout.instance")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	e4 := try(s.Enqueue(ctx, streamEntry(a, "status.instance"))).must(t)
	if got := seqs(try(s.EventsAfter(ctx, 3, storage.EventFilter{}, 0)).must(t)); len(got) != 1 || got[0] != 4 || e4.Seq != 4 {
		t.Fatalf("after a rollback: EventsAfter(3) = %v, enqueued seq %d, want [4], 4", got, e4.Seq)
	}

	// Pruning removes old entries but keeps the newest, so seqs are never
	// handed out again.
	c.Advance(time.Hour)
	try(s.PruneDelivered(ctx, c.Now(), storage.MaxPage)).must(t)
	if first, last := try2(t)(s.EventBounds(ctx)); first != 4 || last != 4 {
		t.Fatalf("EventBounds after pruning = %d, %d, want 4, 4", first, last)
	}
	if e5 := try(s.Enqueue(ctx, streamEntry(b, "status.instance"))).must(t); e5.Seq != 5 {
		t.Fatalf("seq after pruning = %d, want 5", e5.Seq)
	}
}

// try2 returns two values, failing t on an error.
func try2(t testing.TB) func(a, b int64, err error) (int64, int64) {
	return func(a, b int64, err error) (int64, int64) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

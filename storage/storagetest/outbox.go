package storagetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func enqueue(t testing.TB, tx storage.Tx, instanceID, event, payload string) storage.OutboxEvent {
	t.Helper()
	return try(tx.Enqueue(ctxFor(t), storage.OutboxEvent{
		InstanceID: instanceID, Event: event, Payload: json.RawMessage(payload),
	})).must(t)
}

func testOutbox(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	inst := storage.NewID() // the outbox does not require a live instance
	// Payloads are kept byte for byte: spacing and key order survive.
	p1 := `{"b": 1,  "a": [1, 2]}`
	e1 := enqueue(t, s, inst, "connection.update", p1)
	if storage.ValidateID("id", e1.ID) != nil || !e1.CreatedAt.Equal(c.Now()) || !e1.NextAttemptAt.Equal(c.Now()) ||
		e1.Attempts != 0 || !e1.Pending() || string(e1.Payload) != p1 {
		t.Fatalf("Enqueue = %+v", e1)
	}
	c.Advance(time.Millisecond)
	e2 := enqueue(t, s, inst, "qrcode.updated", `{}`)
	later := try(s.Enqueue(ctx, storage.OutboxEvent{
		InstanceID: inst, Event: "status.instance", Payload: json.RawMessage(`[]`), NextAttemptAt: c.Now().Add(time.Hour),
	})).must(t)

	// A broker's row keeps its destination.
	sink := try(s.Enqueue(ctx, storage.OutboxEvent{
		InstanceID: inst, Event: "messages.upsert", Payload: json.RawMessage(`{}`), Destination: "rabbitmq:x",
		NextAttemptAt: c.Now().Add(time.Hour),
	})).must(t)
	if got := try(s.OutboxEvent(ctx, sink.ID)).must(t); got.Destination != "rabbitmq:x" || sink.Destination != "rabbitmq:x" {
		t.Fatalf("broker row = %+v, want its destination", got)
	}

	claimed := try(s.Claim(ctx, "w1", 10, 30*time.Second)).must(t)
	if len(claimed) != 2 || claimed[0].ID != e1.ID || claimed[1].ID != e2.ID {
		t.Fatalf("Claim = %v, want e1, e2 (later is not due)", eventIDs(claimed))
	}
	for _, ev := range claimed {
		if ev.Attempts != 1 || ev.ClaimedBy != "w1" || !ev.NextAttemptAt.Equal(c.Now().Add(30*time.Second)) {
			t.Fatalf("claimed event = %+v", ev)
		}
	}
	if string(claimed[0].Payload) != p1 {
		t.Fatalf("claimed payload = %s, want %s", claimed[0].Payload, p1)
	}
	if again := try(s.Claim(ctx, "w2", 10, time.Minute)).must(t); len(again) != 0 {
		t.Fatalf("second Claim = %v, want none while leased", eventIDs(again))
	}

	// Delivered: gone from claims, idempotent.
	if err := s.MarkDelivered(ctx, e1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, e1.ID); err != nil {
		t.Fatalf("second MarkDelivered: %v", err)
	}
	got := try(s.OutboxEvent(ctx, e1.ID)).must(t)
	if got.DeliveredAt == nil || !got.DeliveredAt.Equal(c.Now()) || got.Pending() {
		t.Fatalf("delivered event = %+v", got)
	}

	// Retry: due again at the time given, error kept.
	if err := s.MarkRetry(ctx, e2.ID, c.Now().Add(10*time.Second), "HTTP 503"); err != nil {
		t.Fatal(err)
	}
	c.Advance(9 * time.Second)
	if evs := try(s.Claim(ctx, "w1", 10, time.Minute)).must(t); len(evs) != 0 {
		t.Fatalf("Claim before retry time = %v", eventIDs(evs))
	}
	c.Advance(time.Second)
	evs := try(s.Claim(ctx, "w2", 10, time.Minute)).must(t)
	if len(evs) != 1 || evs[0].ID != e2.ID || evs[0].Attempts != 2 || evs[0].LastError != "HTTP 503" || evs[0].ClaimedBy != "w2" {
		t.Fatalf("Claim after retry time = %+v", evs)
	}

	// Failed: listed, not claimable, requeued with attempts reset.
	if err := s.MarkFailed(ctx, e2.ID, "HTTP 410 Gone"); err != nil {
		t.Fatal(err)
	}
	failed := try(s.FailedEvents(ctx, inst, 10)).must(t)
	if len(failed) != 1 || failed[0].ID != e2.ID || failed[0].FailedAt == nil || failed[0].LastError != "HTTP 410 Gone" {
		t.Fatalf("FailedEvents = %+v", failed)
	}
	if all := try(s.FailedEvents(ctx, "", 10)).must(t); len(all) != 1 {
		t.Fatalf("FailedEvents(all) = %d events", len(all))
	}
	if other := try(s.FailedEvents(ctx, storage.NewID(), 10)).must(t); len(other) != 0 {
		t.Fatalf("FailedEvents(other instance) = %d events", len(other))
	}
	// Marks that do not apply to a failed event leave it alone.
	if err := s.MarkRetry(ctx, e2.ID, c.Now(), "late"); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	if evs := try(s.Claim(ctx, "w1", 10, time.Minute)).must(t); len(evs) != 0 {
		t.Fatalf("failed event claimed: %v", eventIDs(evs))
	}
	if err := s.Requeue(ctx, e2.ID); err != nil {
		t.Fatal(err)
	}
	evs = try(s.Claim(ctx, "w1", 10, time.Minute)).must(t)
	if len(evs) != 1 || evs[0].ID != e2.ID || evs[0].Attempts != 1 || evs[0].FailedAt != nil {
		t.Fatalf("Claim after Requeue = %+v", evs)
	}
	if err := s.Requeue(ctx, e2.ID); err != nil {
		t.Fatalf("Requeue of a pending event: %v", err)
	}

	// Prune removes only what was delivered before the cut-off.
	c.Advance(time.Hour)
	if n := try(s.PruneDelivered(ctx, c.Now(), storage.MaxPage)).must(t); n != 1 {
		t.Fatalf("PruneDelivered = %d, want 1", n)
	}
	_, err := s.OutboxEvent(ctx, e1.ID)
	wantErr(t, err, storage.ErrNotFound)
	if _, err := s.OutboxEvent(ctx, later.ID); err != nil {
		t.Fatal(err)
	}
}

// testOutboxLeaseExpiry checks that events of a worker that died
// mid-delivery are claimed again once the lease ends.
func testOutboxLeaseExpiry(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	ev := enqueue(t, s, storage.NewID(), "connection.update", `{}`)
	first := try(s.Claim(ctx, "dies", 1, time.Minute)).must(t)
	if len(first) != 1 {
		t.Fatalf("Claim = %v", eventIDs(first))
	}
	c.Advance(time.Minute - time.Microsecond)
	if evs := try(s.Claim(ctx, "other", 1, time.Minute)).must(t); len(evs) != 0 {
		t.Fatalf("claimed before the lease ended: %v", eventIDs(evs))
	}
	c.Advance(time.Microsecond)
	evs := try(s.Claim(ctx, "other", 1, time.Minute)).must(t)
	if len(evs) != 1 || evs[0].ID != ev.ID || evs[0].Attempts != 2 || evs[0].ClaimedBy != "other" {
		t.Fatalf("Claim after lease end = %+v", evs)
	}
}

func testOutboxErrors(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	inst := storage.NewID()
	ok := storage.OutboxEvent{InstanceID: inst, Event: "connection.update", Payload: json.RawMessage(`{}`)}
	dup := enqueue(t, s, inst, "connection.update", `{}`)
	tests := []struct {
		name   string
		modify func(e *storage.OutboxEvent)
		want   error
	}{
		{"duplicate id", func(e *storage.OutboxEvent) { e.ID = dup.ID }, storage.ErrInvalidInput},
		{"bad id", func(e *storage.OutboxEvent) { e.ID = "1" }, storage.ErrInvalidInput},
		{"no instance", func(e *storage.OutboxEvent) { e.InstanceID = "" }, storage.ErrInvalidInput},
		{"bad event", func(e *storage.OutboxEvent) { e.Event = "Connection Update" }, storage.ErrInvalidInput},
		{"empty payload", func(e *storage.OutboxEvent) { e.Payload = nil }, storage.ErrInvalidInput},
		{"bad payload", func(e *storage.OutboxEvent) { e.Payload = json.RawMessage(`{"a"}`) }, storage.ErrInvalidInput},
		{"big payload", func(e *storage.OutboxEvent) { e.Payload = bigJSON(storage.MaxPayloadBytes + 1) }, storage.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.modify(&e)
			_, err := s.Enqueue(ctx, e)
			wantErr(t, err, tt.want)
		})
	}
	big := ok
	big.Payload = bigJSON(storage.MaxPayloadBytes)
	if got := try(s.Enqueue(ctx, big)).must(t); len(got.Payload) != storage.MaxPayloadBytes {
		t.Fatalf("payload at the limit read back with %d bytes", len(got.Payload))
	}

	missing := storage.NewID()
	wantErr(t, s.MarkDelivered(ctx, missing), storage.ErrNotFound)
	wantErr(t, s.MarkRetry(ctx, missing, time.Now(), ""), storage.ErrNotFound)
	wantErr(t, s.MarkFailed(ctx, missing, ""), storage.ErrNotFound)
	wantErr(t, s.Requeue(ctx, missing), storage.ErrNotFound)
	_, err := s.OutboxEvent(ctx, missing)
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.MarkFailed(ctx, dup.ID, strings.Repeat("e", storage.MaxTextBytes+1)), storage.ErrTooLarge)
	for _, n := range []int{0, -1, storage.MaxPage + 1} {
		_, err := s.Claim(ctx, "w", n, time.Minute)
		wantErr(t, err, storage.ErrInvalidInput)
	}
	_, err = s.Claim(ctx, "", 1, time.Minute)
	wantErr(t, err, storage.ErrInvalidInput)
	_, err = s.Claim(ctx, "w", 1, 0)
	wantErr(t, err, storage.ErrInvalidInput)
}

func eventIDs(evs []storage.OutboxEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func testOutboxDeliveredMany(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	inst := storage.NewID()
	var evs []storage.OutboxEvent
	for range 3 {
		evs = append(evs, enqueue(t, s, inst, "connection.update", `{}`))
	}
	try(s.Claim(ctx, "w", 10, time.Minute)).must(t)
	if err := s.MarkFailed(ctx, evs[2].ID, "HTTP 404"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	// A missing event and one delivered already are skipped; a failed
	// one is recorded delivered, as MarkDelivered does.
	if err := s.MarkDelivered(ctx, evs[0].ID); err != nil {
		t.Fatal(err)
	}
	first := c.Now()
	c.Advance(time.Second)
	ids := []string{evs[0].ID, evs[1].ID, evs[2].ID, storage.NewID()}
	if err := s.MarkDeliveredMany(ctx, ids); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Time{first, c.Now(), c.Now()} {
		got := try(s.OutboxEvent(ctx, evs[i].ID)).must(t)
		if got.DeliveredAt == nil || !got.DeliveredAt.Equal(want) || got.FailedAt != nil || got.LastError != "" {
			t.Fatalf("event %d after MarkDeliveredMany = %+v, want delivered at %v", i, got, want)
		}
	}
	if again := try(s.Claim(ctx, "w", 10, time.Nanosecond)).must(t); len(again) != 0 {
		t.Fatalf("Claim after MarkDeliveredMany = %v", eventIDs(again))
	}
	if err := s.MarkDeliveredMany(ctx, nil); err != nil {
		t.Fatalf("MarkDeliveredMany of none: %v", err)
	}
	wantErr(t, s.MarkDeliveredMany(ctx, []string{"1"}), storage.ErrInvalidInput)
	wantErr(t, s.MarkDeliveredMany(ctx, make([]string, storage.MaxPage+1)), storage.ErrInvalidInput)
}

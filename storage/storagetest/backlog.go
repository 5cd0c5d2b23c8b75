package storagetest

import (
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// testBacklog checks the counts an operator watches and the pruning of
// failed events in bounded batches.
func testBacklog(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	empty := try(s.Backlog(ctx)).must(t)
	if len(empty.Instances) != 0 || empty.OutboxPending != 0 || empty.OutboxFailed != 0 || empty.PendingPurges != 0 {
		t.Fatalf("Backlog of an empty store = %+v", empty)
	}
	open := newInstance(t, s, "counted-open")
	open.Status = storage.StatusOpen
	try(s.UpdateInstance(ctx, open)).must(t)
	newInstance(t, s, "counted-closed")
	inst := storage.NewID()
	pending := enqueue(t, s, inst, "connection.update", `{}`)
	var failed []storage.OutboxEvent
	for range 3 {
		failed = append(failed, enqueue(t, s, inst, "qrcode.updated", `{}`))
	}
	for _, ev := range failed {
		if err := s.MarkFailed(ctx, ev.ID, "HTTP 410 Gone"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddPurge(ctx, "counted-open"); err != nil {
		t.Fatal(err)
	}
	b := try(s.Backlog(ctx)).must(t)
	if b.Instances[storage.StatusOpen] != 1 || b.Instances[storage.StatusClose] != 1 || b.OutboxPending != 1 ||
		b.OutboxFailed != 3 || b.PendingPurges != 1 {
		t.Fatalf("Backlog = %+v; want 1 open, 1 close, 1 pending, 3 failed, 1 purge", b)
	}

	// Failed events go after their retention, in bounded batches; the
	// pending one stays.
	c.Advance(time.Hour)
	if n := try(s.PruneFailed(ctx, c.Now(), 2)).must(t); n != 2 {
		t.Fatalf("PruneFailed limit 2 = %d, want 2", n)
	}
	if n := try(s.PruneFailed(ctx, c.Now(), storage.MaxPage)).must(t); n != 1 {
		t.Fatalf("PruneFailed after a batch = %d, want 1", n)
	}
	if _, err := s.OutboxEvent(ctx, pending.ID); err != nil {
		t.Fatalf("a pending event was pruned: %v", err)
	}
	for _, bad := range []int{0, storage.MaxPage + 1} {
		_, err := s.PruneFailed(ctx, c.Now(), bad)
		wantErr(t, err, storage.ErrInvalidInput)
	}
	if b := try(s.Backlog(ctx)).must(t); b.OutboxFailed != 0 || b.OutboxPending != 1 {
		t.Fatalf("Backlog after pruning = %+v", b)
	}
}

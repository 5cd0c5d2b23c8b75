package storagetest

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func messageIDs(ms []storage.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func wantIDs(t testing.TB, what string, got []storage.Message, want ...string) {
	t.Helper()
	if ids := messageIDs(got); !reflect.DeepEqual(ids, want) && !(len(ids) == 0 && len(want) == 0) {
		t.Fatalf("%s = %v, want %v", what, ids, want)
	}
}

func testMessageQueue(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	a := newInstance(t, s, "queue-a")
	b := newInstance(t, s, "queue-b")
	idle := newInstance(t, s, "queue-idle")
	now := c.Now()
	// Ids sort against the insertion order: the queue follows Seq.
	q3 := outgoing(a.ID, "Z3", "")
	q2 := outgoing(a.ID, "Y2", "")
	q2.ExpiresAt = now.Add(time.Minute)
	q1 := outgoing(a.ID, "X1", "")
	q1.ExpiresAt = now.Add(2 * time.Minute)
	sent := outgoing(a.ID, "SENT", "")
	sent.Status, sent.ExpiresAt = storage.MessageSent, now.Add(-time.Hour)
	bq := outgoing(b.ID, "BQ", "")
	bq.ExpiresAt = now.Add(30 * time.Second)
	for _, m := range []storage.Message{q3, q2, sent, q1, incoming(a.ID, "IN", now), bq, incoming(idle.ID, "IN", now)} {
		insert(t, s, m)
	}

	wantIDs(t, "QueuedMessages", try(s.QueuedMessages(ctx, a.ID, 10)).must(t), "Z3", "Y2", "X1")
	wantIDs(t, "QueuedMessages limit 2", try(s.QueuedMessages(ctx, a.ID, 2)).must(t), "Z3", "Y2")
	wantIDs(t, "QueuedMessages of an idle instance", try(s.QueuedMessages(ctx, idle.ID, 0)).must(t))
	wantInstances := []string{a.ID, b.ID}
	sort.Strings(wantInstances)
	if got := try(s.InstancesWithQueued(ctx)).must(t); !reflect.DeepEqual(got, wantInstances) {
		t.Fatalf("InstancesWithQueued = %v, want %v", got, wantInstances)
	}

	c.Advance(time.Second)
	next := now.Add(10 * time.Second)
	if err := s.RetryMessage(ctx, a.ID, "Z3", next, "connection reset"); err != nil {
		t.Fatal(err)
	}
	got := try(s.Message(ctx, a.ID, "Z3")).must(t)
	if got.Attempts != 1 || !got.NextAttemptAt.Equal(storage.Timestamp(next)) || got.Reason != "connection reset" ||
		got.Status != storage.MessageQueued || !got.UpdatedAt.Equal(storage.Timestamp(c.Now())) {
		t.Fatalf("after RetryMessage: %+v", got)
	}
	if err := s.RetryMessage(ctx, a.ID, "Z3", next, ""); err != nil {
		t.Fatal(err)
	}
	if got := try(s.Message(ctx, a.ID, "Z3")).must(t); got.Attempts != 2 || got.Reason != "" {
		t.Fatalf("second retry: attempts %d, reason %q", got.Attempts, got.Reason)
	}
	// A message no longer queued is left as it is.
	before := try(s.Message(ctx, a.ID, "SENT")).must(t)
	if err := s.RetryMessage(ctx, a.ID, "SENT", next, "x"); err != nil {
		t.Fatal(err)
	}
	if after := try(s.Message(ctx, a.ID, "SENT")).must(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("RetryMessage changed a sent message: %+v", after)
	}

	wantIDs(t, "ExpiredMessages now", try(s.ExpiredMessages(ctx, now, 10)).must(t))
	wantIDs(t, "ExpiredMessages +90s", try(s.ExpiredMessages(ctx, now.Add(90*time.Second), 10)).must(t), "BQ", "Y2")
	wantIDs(t, "ExpiredMessages at the instant", try(s.ExpiredMessages(ctx, now.Add(time.Minute), 10)).must(t), "BQ", "Y2")
	wantIDs(t, "ExpiredMessages limit 1", try(s.ExpiredMessages(ctx, now.Add(time.Hour), 1)).must(t), "BQ")

	c.Advance(time.Second)
	failed := try(s.FailQueuedMessages(ctx, a.ID, "logged_out")).must(t)
	wantIDs(t, "FailQueuedMessages", failed, "Z3", "Y2", "X1")
	for _, m := range failed {
		if m.Status != storage.MessageFailed || m.Reason != "logged_out" || !m.UpdatedAt.Equal(storage.Timestamp(c.Now())) {
			t.Fatalf("failed message %+v", m)
		}
		if stored := try(s.Message(ctx, a.ID, m.ID)).must(t); !reflect.DeepEqual(stored, m) {
			t.Fatalf("stored %+v, returned %+v", stored, m)
		}
	}
	for id, want := range map[string]storage.MessageStatus{"SENT": storage.MessageSent, "IN": storage.MessageReceived} {
		if m := try(s.Message(ctx, a.ID, id)).must(t); m.Status != want {
			t.Fatalf("%s is %s after FailQueuedMessages, want %s", id, m.Status, want)
		}
	}
	if m := try(s.Message(ctx, b.ID, "BQ")).must(t); m.Status != storage.MessageQueued {
		t.Fatalf("another instance's message is %s, want queued", m.Status)
	}
	wantIDs(t, "FailQueuedMessages again", try(s.FailQueuedMessages(ctx, a.ID, "logged_out")).must(t))
	if got := try(s.InstancesWithQueued(ctx)).must(t); !reflect.DeepEqual(got, []string{b.ID}) {
		t.Fatalf("InstancesWithQueued after failing a = %v", got)
	}
}

// testMessageConcurrentInserts inserts from several goroutines, each
// message with its webhook in one unit of work: every Seq is unique, each
// goroutine's are increasing, and the queue holds them all in Seq order.
func testMessageConcurrentInserts(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "concurrent")
	const workers, each = 4, 25
	seqs := make([][]int64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := s.InTx(ctx, func(tx storage.Tx) error {
					m, err := tx.InsertMessage(ctx, outgoing(in.ID, fmt.Sprintf("W%d-%02d", w, i), fmt.Sprintf("k%d-%d", w, i)))
					if err != nil {
						return err
					}
					seqs[w] = append(seqs[w], m.Seq)
					_, err = tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: in.ID, Event: "send.message", Payload: benchPayload})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := make(map[int64]bool)
	for w, ss := range seqs {
		for i, seq := range ss {
			if seen[seq] {
				t.Fatalf("Seq %d assigned twice", seq)
			}
			seen[seq] = true
			if i > 0 && seq <= ss[i-1] {
				t.Fatalf("worker %d: Seq %d after %d", w, seq, ss[i-1])
			}
		}
	}
	queued := try(s.QueuedMessages(ctx, in.ID, storage.MaxPage)).must(t)
	if len(queued) != workers*each {
		t.Fatalf("%d queued, want %d", len(queued), workers*each)
	}
	for i := 1; i < len(queued); i++ {
		if queued[i].Seq <= queued[i-1].Seq {
			t.Fatalf("queue out of Seq order at %d: %d after %d", i, queued[i].Seq, queued[i-1].Seq)
		}
	}
}

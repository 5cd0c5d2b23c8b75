package storagetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func testMessageStatus(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "status")
	ack := c.Now().Add(-time.Second)
	insert(t, s, outgoing(in.ID, "OUT", ""))
	insert(t, s, outgoing(in.ID, "FAILS", ""))
	insert(t, s, outgoing(in.ID, "SENT-FAILS", ""))
	insert(t, s, incoming(in.ID, "IN", ack))

	steps := []struct {
		id      string
		status  storage.MessageStatus
		reason  string
		ts      time.Time
		changed bool
		want    storage.MessageStatus
	}{
		{"OUT", storage.MessageSent, "", ack, true, storage.MessageSent},
		{"OUT", storage.MessageSent, "", time.Time{}, false, storage.MessageSent},
		{"OUT", storage.MessageDelivered, "", time.Time{}, true, storage.MessageDelivered},
		{"OUT", storage.MessageRead, "", time.Time{}, true, storage.MessageRead},
		{"OUT", storage.MessageDelivered, "", time.Time{}, false, storage.MessageRead},
		{"OUT", storage.MessageFailed, "server_error:500", time.Time{}, false, storage.MessageRead},
		{"OUT", storage.MessageQueued, "", time.Time{}, false, storage.MessageRead},
		{"OUT", storage.MessagePlayed, "", time.Time{}, true, storage.MessagePlayed},
		{"FAILS", storage.MessageFailed, "not_on_whatsapp", time.Time{}, true, storage.MessageFailed},
		{"FAILS", storage.MessageSent, "", ack, false, storage.MessageFailed},
		{"FAILS", storage.MessagePlayed, "", time.Time{}, false, storage.MessageFailed},
		{"SENT-FAILS", storage.MessageSent, "", ack, true, storage.MessageSent},
		{"SENT-FAILS", storage.MessageFailed, "server_error:479", time.Time{}, true, storage.MessageFailed},
		{"IN", storage.MessageDelivered, "", time.Time{}, false, storage.MessageReceived},
		{"IN", storage.MessageRead, "", time.Time{}, true, storage.MessageRead},
	}
	for i, st := range steps {
		c.Advance(time.Second)
		before := try(s.Message(ctx, in.ID, st.id)).must(t)
		m, changed, err := s.SetMessageStatus(ctx, in.ID, st.id, st.status, st.reason, st.ts)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if changed != st.changed || m.Status != st.want {
			t.Fatalf("step %d: %s → %s: changed %v, status %s; want %v, %s",
				i, before.Status, st.status, changed, m.Status, st.changed, st.want)
		}
		if !changed {
			if !reflect.DeepEqual(m, before) {
				t.Fatalf("step %d: unchanged message read back as %+v, want %+v", i, m, before)
			}
			continue
		}
		if m.Reason != st.reason || !m.UpdatedAt.Equal(storage.Timestamp(c.Now())) {
			t.Fatalf("step %d: reason %q, updated %v; want %q, %v", i, m.Reason, m.UpdatedAt, st.reason, c.Now())
		}
		wantTS := before.Timestamp
		if !st.ts.IsZero() {
			wantTS = storage.Timestamp(st.ts)
		}
		if !m.Timestamp.Equal(wantTS) {
			t.Fatalf("step %d: Timestamp %v, want %v", i, m.Timestamp, wantTS)
		}
	}
}

// testMessageStatusRace sends receipts for one message from several
// goroutines in every order: the message ends at the highest status, and
// each status is reported changed at most once.
func testMessageStatusRace(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "status-race")
	order := []storage.MessageStatus{storage.MessageSent, storage.MessageDelivered, storage.MessageRead, storage.MessagePlayed}
	const messages = 8
	for i := 0; i < messages; i++ {
		insert(t, s, outgoing(in.ID, fmt.Sprint("R", i), ""))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex // guards changes
	changes := make(map[string]int)
	for g := 0; g < len(order); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < messages; i++ {
				st := order[(g+i)%len(order)] // each goroutine a different status per message
				m, changed, err := s.SetMessageStatus(ctx, in.ID, fmt.Sprint("R", i), st, "", time.Time{})
				if err != nil {
					t.Error(err)
					return
				}
				if changed && m.Status != st {
					t.Errorf("changed to %s, read back %s", st, m.Status)
				}
				if changed {
					mu.Lock()
					changes[fmt.Sprint(m.ID, "/", st)]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for k, n := range changes {
		if n != 1 {
			t.Errorf("%s reported changed %d times", k, n)
		}
	}
	for i := 0; i < messages; i++ {
		if m := try(s.Message(ctx, in.ID, fmt.Sprint("R", i))).must(t); m.Status != storage.MessagePlayed {
			t.Errorf("%s ended %s, want played", m.ID, m.Status)
		}
	}
}

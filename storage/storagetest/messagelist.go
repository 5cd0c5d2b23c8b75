package storagetest

import (
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func testMessageList(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "list")
	other := newInstance(t, s, "list-other")
	t0 := c.Now()
	group, direct := "120363025246125486@g.us", "5511999990000@s.whatsapp.net"

	m1 := incoming(in.ID, "M1", t0.Add(-30*time.Second))
	m2 := outgoing(in.ID, "M2", "")
	m2.Chat, m2.Status, m2.Timestamp = direct, storage.MessageSent, t0.Add(-20*time.Second)
	m3 := outgoing(in.ID, "M3", "")
	m3.Chat, m3.Status, m3.Timestamp = group, storage.MessageDelivered, t0.Add(-20*time.Second) // same second as M2
	m4 := outgoing(in.ID, "M4", "")                                                             // queued: no Timestamp yet, listed at its CreatedAt
	m4.Chat = group
	for _, m := range []storage.Message{m1, m2, m3, m4, incoming(other.ID, "M5", t0)} {
		insert(t, s, m)
	}
	yes, no := true, false
	list := func(q storage.MessageQuery) []storage.Message {
		t.Helper()
		q.InstanceID = in.ID
		return try(s.ListMessages(ctx, q)).must(t)
	}

	all := list(storage.MessageQuery{})
	wantIDs(t, "all", all, "M4", "M3", "M2", "M1")
	wantIDs(t, "group", list(storage.MessageQuery{Chat: group}), "M4", "M3", "M1")
	wantIDs(t, "direct", list(storage.MessageQuery{Chat: direct}), "M2")
	wantIDs(t, "unknown chat", list(storage.MessageQuery{Chat: "nobody@s.whatsapp.net"}))
	wantIDs(t, "incoming", list(storage.MessageQuery{FromMe: &no}), "M1")
	wantIDs(t, "outgoing", list(storage.MessageQuery{FromMe: &yes}), "M4", "M3", "M2")
	wantIDs(t, "outgoing in the group", list(storage.MessageQuery{FromMe: &yes, Chat: group}), "M4", "M3")
	wantIDs(t, "since", list(storage.MessageQuery{Since: t0.Add(-20 * time.Second)}), "M4", "M3", "M2")
	wantIDs(t, "before", list(storage.MessageQuery{Before: t0}), "M3", "M2", "M1")
	wantIDs(t, "between", list(storage.MessageQuery{Before: t0, Since: t0.Add(-25 * time.Second)}), "M3", "M2")

	// Paging by SortTime and Seq loses nothing that shares a second.
	page1 := list(storage.MessageQuery{Limit: 2})
	wantIDs(t, "page 1", page1, "M4", "M3")
	last := page1[len(page1)-1]
	if !last.SortTime().Equal(storage.Timestamp(m3.Timestamp)) {
		t.Fatalf("SortTime = %v, want the Timestamp %v", last.SortTime(), m3.Timestamp)
	}
	page2 := list(storage.MessageQuery{Limit: 2, Before: last.SortTime(), BeforeSeq: last.Seq})
	wantIDs(t, "page 2", page2, "M2", "M1")
	last = page2[len(page2)-1]
	wantIDs(t, "page 3", list(storage.MessageQuery{Limit: 2, Before: last.SortTime(), BeforeSeq: last.Seq}))
	if !all[0].SortTime().Equal(all[0].CreatedAt) || !all[0].Timestamp.IsZero() {
		t.Fatalf("queued message SortTime %v, CreatedAt %v", all[0].SortTime(), all[0].CreatedAt)
	}

	// The server's ack time moves the message to its place.
	try3(s.SetMessageStatus(ctx, in.ID, "M4", storage.MessageSent, "", t0.Add(-25*time.Second)))
	wantIDs(t, "after the ack", list(storage.MessageQuery{}), "M3", "M2", "M4", "M1")
}

func try3(m storage.Message, _ bool, err error) result[storage.Message] { return try(m, err) }

func testMessagePrune(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "prune")
	other := newInstance(t, s, "prune-other")
	statuses := []storage.MessageStatus{storage.MessageSent, storage.MessageDelivered, storage.MessageRead,
		storage.MessagePlayed, storage.MessageFailed}
	for i, st := range statuses {
		m := outgoing(in.ID, "OLD"+string(rune('A'+i)), "")
		m.Status = st
		insert(t, s, m)
	}
	insert(t, s, incoming(other.ID, "OLD-IN", c.Now()))
	insert(t, s, outgoing(in.ID, "OLD-QUEUED", ""))
	insert(t, s, outgoing(other.ID, "OLD-QUEUED", ""))
	c.Advance(time.Hour)
	insert(t, s, incoming(in.ID, "NEW-IN", c.Now()))
	cut := c.Now().Add(-30 * time.Minute)

	var counts []int64
	for {
		n := try(s.PruneMessages(ctx, cut, 4)).must(t)
		counts = append(counts, n)
		if n < 4 {
			break
		}
	}
	if len(counts) != 2 || counts[0] != 4 || counts[1] != 2 {
		t.Fatalf("prune batches = %v, want [4 2]", counts)
	}
	wantIDs(t, "left", try(s.ListMessages(ctx, storage.MessageQuery{InstanceID: in.ID})).must(t), "NEW-IN", "OLD-QUEUED")
	wantIDs(t, "left of the other", try(s.ListMessages(ctx, storage.MessageQuery{InstanceID: other.ID})).must(t), "OLD-QUEUED")
	if n := try(s.PruneMessages(ctx, c.Now().Add(time.Hour), storage.MaxPage)).must(t); n != 1 {
		t.Fatalf("pruning everything removed %d, want only NEW-IN", n)
	}
	for _, bad := range []int{0, -1, storage.MaxPage + 1} {
		_, err := s.PruneMessages(ctx, cut, bad)
		wantErr(t, err, storage.ErrInvalidInput)
	}
}

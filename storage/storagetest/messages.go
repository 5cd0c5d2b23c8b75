package storagetest

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// outgoing returns a queued outgoing message with every field a caller
// sets filled in, so round trips check them all.
func outgoing(instanceID, id, key string) storage.Message {
	return storage.Message{
		InstanceID:     instanceID,
		ID:             id,
		Chat:           "5511999990000@s.whatsapp.net",
		FromMe:         true,
		Type:           "conversation",
		Status:         storage.MessageQueued,
		Payload:        json.RawMessage(`{"number":"5511999990000", "text":"hi"}`),
		IdempotencyKey: key,
	}
}

// incoming returns a received message in a group.
func incoming(instanceID, id string, ts time.Time) storage.Message {
	return storage.Message{
		InstanceID: instanceID,
		ID:         id,
		Chat:       "120363025246125486@g.us",
		Sender:     "5511988887777@s.whatsapp.net",
		Type:       "imageMessage",
		Status:     storage.MessageReceived,
		Payload:    json.RawMessage(`{"key":{"id":"` + id + `"},"message":{"imageMessage":{"caption":"x"}}}`),
		Timestamp:  ts,
	}
}

func insert(t testing.TB, tx storage.Tx, m storage.Message) storage.Message {
	t.Helper()
	return try(tx.InsertMessage(ctxFor(t), m)).must(t)
}

func testMessages(t *testing.T, s storage.Store, c *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "messages")
	now := storage.Timestamp(c.Now())

	m := outgoing(in.ID, "3EB0C767D26A1D6D2A4D", "client-key-1")
	m.Attempts, m.Reason = 1, "server_error:500"
	m.ExpiresAt = c.Now().Add(time.Hour + time.Nanosecond)
	got := insert(t, s, m)
	if got.Seq <= 0 {
		t.Fatalf("Seq = %d, want positive", got.Seq)
	}
	want := m
	want.Seq, want.CreatedAt, want.UpdatedAt, want.NextAttemptAt = got.Seq, now, now, now
	want.ExpiresAt = storage.Timestamp(m.ExpiresAt)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("InsertMessage = %+v\nwant %+v", got, want)
	}
	if read := try(s.Message(ctx, in.ID, m.ID)).must(t); !reflect.DeepEqual(read, want) {
		t.Fatalf("Message = %+v\nwant %+v", read, want)
	}
	if read := try(s.MessageByIdempotencyKey(ctx, in.ID, m.IdempotencyKey)).must(t); !reflect.DeepEqual(read, want) {
		t.Fatalf("MessageByIdempotencyKey = %+v\nwant %+v", read, want)
	}

	// An incoming message: no payload, key or queue times; its own time.
	c.Advance(time.Second)
	inc := incoming(in.ID, "ABCDEF0123456789", now.Add(-time.Minute+time.Nanosecond))
	inc.Payload = nil
	got = insert(t, s, inc)
	if got.Seq <= want.Seq {
		t.Fatalf("Seq %d not above %d", got.Seq, want.Seq)
	}
	if got.Payload != nil || got.IdempotencyKey != "" || !got.NextAttemptAt.IsZero() || !got.ExpiresAt.IsZero() {
		t.Fatalf("unset fields read back as %+v", got)
	}
	if !got.Timestamp.Equal(storage.Timestamp(inc.Timestamp)) || got.Timestamp.Location() != time.UTC {
		t.Fatalf("Timestamp = %v, want %v", got.Timestamp, storage.Timestamp(inc.Timestamp))
	}
	if got.SortTime() != got.Timestamp {
		t.Fatalf("SortTime = %v, want the Timestamp", got.SortTime())
	}

	// A queued message keeps a NextAttemptAt it was given.
	later := outgoing(in.ID, "LATER", "")
	later.NextAttemptAt = now.Add(time.Minute)
	if got := insert(t, s, later); !got.NextAttemptAt.Equal(later.NextAttemptAt) {
		t.Fatalf("NextAttemptAt = %v, want %v", got.NextAttemptAt, later.NextAttemptAt)
	}

	_, err := s.Message(ctx, in.ID, "missing")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.Message(ctx, storage.NewID(), m.ID)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.MessageByIdempotencyKey(ctx, in.ID, "missing")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.InsertMessage(ctx, outgoing(storage.NewID(), "orphan", ""))
	wantErr(t, err, storage.ErrNotFound)
}

func testMessageErrors(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "message-errors")
	tests := []struct {
		name   string
		modify func(m *storage.Message)
		want   error
	}{
		{"bad instance id", func(m *storage.Message) { m.InstanceID = "x" }, storage.ErrInvalidInput},
		{"empty id", func(m *storage.Message) { m.ID = "" }, storage.ErrInvalidInput},
		{"id with space", func(m *storage.Message) { m.ID = "a b" }, storage.ErrInvalidInput},
		{"long id", func(m *storage.Message) { m.ID = strings.Repeat("A", storage.MaxMessageKeyLen+1) }, storage.ErrTooLarge},
		{"bad key", func(m *storage.Message) { m.IdempotencyKey = "k\x00" }, storage.ErrInvalidInput},
		{"empty chat", func(m *storage.Message) { m.Chat = "" }, storage.ErrInvalidInput},
		{"unknown status", func(m *storage.Message) { m.Status = "lost" }, storage.ErrInvalidInput},
		{"empty status", func(m *storage.Message) { m.Status = "" }, storage.ErrInvalidInput},
		{"queued incoming", func(m *storage.Message) { m.FromMe = false }, storage.ErrInvalidInput},
		{"bad payload", func(m *storage.Message) { m.Payload = json.RawMessage("{") }, storage.ErrInvalidInput},
		{"big payload", func(m *storage.Message) { m.Payload = bigJSON(storage.MaxMessagePayloadBytes + 1) }, storage.ErrTooLarge},
		{"negative attempts", func(m *storage.Message) { m.Attempts = -1 }, storage.ErrInvalidInput},
		{"long reason", func(m *storage.Message) { m.Reason = strings.Repeat("r", storage.MaxTextBytes+1) }, storage.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := outgoing(in.ID, "ERR1", "err-key")
			tt.modify(&m)
			_, err := s.InsertMessage(ctx, m)
			wantErr(t, err, tt.want)
		})
	}
	insert(t, s, outgoing(in.ID, "ERR1", ""))
	_, _, err := s.SetMessageStatus(ctx, in.ID, "ERR1", "lost", "", time.Time{})
	wantErr(t, err, storage.ErrInvalidInput)
	_, _, err = s.SetMessageStatus(ctx, in.ID, "missing", storage.MessageSent, "", time.Time{})
	wantErr(t, err, storage.ErrNotFound)
	wantErr(t, s.RetryMessage(ctx, in.ID, "missing", time.Now(), ""), storage.ErrNotFound)
	_, err = s.ListMessages(ctx, storage.MessageQuery{InstanceID: "x"})
	wantErr(t, err, storage.ErrInvalidInput)
	_, err = s.QueuedMessages(ctx, "x", 1)
	wantErr(t, err, storage.ErrInvalidInput)
}

func testMessageDuplicates(t *testing.T, s storage.Store, _ *Clock) {
	ctx := ctxFor(t)
	in := newInstance(t, s, "dups")
	other := newInstance(t, s, "dups-other")
	first := insert(t, s, outgoing(in.ID, "A", "K"))

	_, err := s.InsertMessage(ctx, outgoing(in.ID, "A", "K2"))
	wantErr(t, err, storage.ErrDuplicateMessage)
	_, err = s.InsertMessage(ctx, outgoing(in.ID, "B", "K"))
	wantErr(t, err, storage.ErrDuplicateMessage)
	inc := incoming(in.ID, "A", time.Now())
	_, err = s.InsertMessage(ctx, inc)
	wantErr(t, err, storage.ErrDuplicateMessage)
	if got := try(s.Message(ctx, in.ID, "A")).must(t); !reflect.DeepEqual(got, first) {
		t.Fatalf("duplicate changed the stored message: %+v, want %+v", got, first)
	}
	// Keys are per instance, and messages without a key never collide.
	insert(t, s, outgoing(other.ID, "A", "K"))
	insert(t, s, outgoing(in.ID, "C", ""))
	insert(t, s, outgoing(in.ID, "D", ""))

	t.Run("unit of work stays usable", func(t *testing.T) {
		err := s.InTx(ctx, func(tx storage.Tx) error {
			insert(t, tx, outgoing(in.ID, "E", ""))
			if _, err := tx.InsertMessage(ctx, outgoing(in.ID, "A", "")); !errors.Is(err, storage.ErrDuplicateMessage) {
				t.Errorf("duplicate in a unit of work: %v", err)
			}
			if _, err := tx.InsertMessage(ctx, outgoing(in.ID, "F", "K")); !errors.Is(err, storage.ErrDuplicateMessage) {
				t.Errorf("duplicate key in a unit of work: %v", err)
			}
			insert(t, tx, outgoing(in.ID, "G", "K3"))
			_, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: in.ID, Event: "send.message", Payload: json.RawMessage(`{}`)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"E", "G"} {
			try(s.Message(ctx, in.ID, id)).must(t)
		}
		_, err = s.Message(ctx, in.ID, "F")
		wantErr(t, err, storage.ErrNotFound)
	})
	t.Run("rollback keeps no message", func(t *testing.T) {
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx storage.Tx) error {
			insert(t, tx, outgoing(in.ID, "H", "K4"))
			return boom
		})
		wantErr(t, err, boom)
		_, err = s.Message(ctx, in.ID, "H")
		wantErr(t, err, storage.ErrNotFound)
		_, err = s.MessageByIdempotencyKey(ctx, in.ID, "K4")
		wantErr(t, err, storage.ErrNotFound)
		// The id and key are free after the rollback.
		insert(t, s, outgoing(in.ID, "H", "K4"))
	})
}

package storage_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func TestMessageStatusRank(t *testing.T) {
	order := []storage.MessageStatus{storage.MessageQueued, storage.MessageSent, storage.MessageDelivered,
		storage.MessageRead, storage.MessagePlayed, storage.MessageFailed}
	for i := 1; i < len(order); i++ {
		if order[i].Rank() <= order[i-1].Rank() {
			t.Fatalf("%s ranks %d, not above %s (%d)", order[i], order[i].Rank(), order[i-1], order[i-1].Rank())
		}
	}
	if r := storage.MessageReceived.Rank(); r != storage.MessageDelivered.Rank() {
		t.Fatalf("received ranks %d, want delivered's %d", r, storage.MessageDelivered.Rank())
	}
	if r := storage.MessageStatus("lost").Rank(); r != -1 {
		t.Fatalf("unknown status ranks %d, want -1", r)
	}
	if n := len(storage.MessageStatuses()); n != 7 {
		t.Fatalf("MessageStatuses has %d entries, want 7", n)
	}
}

func TestValidateMessageKey(t *testing.T) {
	tests := []struct {
		key  string
		want error
	}{
		{"3EB0C767D26A1D6D2A4D", nil},
		{"client-key_1:~!", nil},
		{strings.Repeat("A", storage.MaxMessageKeyLen), nil},
		{"\x00", storage.ErrInvalidInput},
		{"", storage.ErrInvalidInput},
		{"a b", storage.ErrInvalidInput},
		{"é", storage.ErrInvalidInput},
		{"x\x7f", storage.ErrInvalidInput},
		{strings.Repeat("A", storage.MaxMessageKeyLen+1), storage.ErrTooLarge},
	}
	for _, tt := range tests {
		if err := storage.ValidateMessageKey("id", tt.key); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("ValidateMessageKey(%q) = %v, want %v", tt.key, err, tt.want)
		}
	}
}

func TestMessageSortTime(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := storage.Message{CreatedAt: created}
	if !m.SortTime().Equal(created) {
		t.Fatalf("SortTime without Timestamp = %v, want CreatedAt", m.SortTime())
	}
	m.Timestamp = created.Add(-time.Minute)
	if !m.SortTime().Equal(m.Timestamp) {
		t.Fatalf("SortTime = %v, want Timestamp", m.SortTime())
	}
}

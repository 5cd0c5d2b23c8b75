package storage_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"Instance_1.prod-2", true},
		{"0190f3a4-8b7c-7def-8000-000000000000", true},
		{strings.Repeat("x", storage.MaxNameLen), true},
		{"...", true},
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("x", storage.MaxNameLen+1), false},
		{"a/b", false},
		{`a\b`, false},
		{"a b", false},
		{"a:b", false},
		{"a*", false},
		{"a\x00", false},
		{"ção", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := storage.ValidateName(tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok %v", tt.name, err, tt.ok)
			}
			var ne *storage.NameError
			if err != nil && (!errors.Is(err, storage.ErrInvalidName) || !errors.As(err, &ne)) {
				t.Fatalf("error %v is not a *NameError wrapping ErrInvalidName", err)
			}
		})
	}
}

// FuzzValidateName checks that every accepted name is a single, harmless
// path element and cache key segment.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"a", "..", "a/b", "a:b", "x.y-z_1", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if storage.ValidateName(name) != nil {
			return
		}
		if filepath.Base(name) != name || filepath.Clean(name) != name || name == "." || name == ".." {
			t.Fatalf("accepted %q is not a plain path element", name)
		}
		if strings.ContainsAny(name, ":*?[]\\/ \x00") || len(name) > storage.MaxNameLen {
			t.Fatalf("accepted %q contains a separator or glob character", name)
		}
	})
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{storage.NewID(), "0190f3a4-8b7c-7def-8000-000000000000"} {
		if err := storage.ValidateID("id", id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "x", "0190F3A4-8B7C-7DEF-8000-000000000000", "0190f3a48b7c7def8000000000000000", "0190f3a4-8b7c-7def-8000-00000000000g"} {
		if err := storage.ValidateID("id", id); !errors.Is(err, storage.ErrInvalidInput) {
			t.Errorf("ValidateID(%q) = %v, want ErrInvalidInput", id, err)
		}
	}
}

func TestNewIDOrdered(t *testing.T) {
	prev := storage.NewID()
	for i := 0; i < 100; i++ {
		id := storage.NewID()
		if id <= prev {
			t.Fatalf("NewID %s not after %s", id, prev)
		}
		prev = id
	}
}

func TestValidateSettings(t *testing.T) {
	tests := []struct {
		name string
		s    storage.InstanceSettings
		want error
	}{
		{"zero", storage.InstanceSettings{}, nil},
		{"full", storage.InstanceSettings{WebhookURL: "http://h:8080/x", WebhookEvents: []string{"qrcode.updated"}, QRLimit: 30}, nil},
		{"no host", storage.InstanceSettings{WebhookURL: "https://"}, storage.ErrInvalidInput},
		{"bad url", storage.InstanceSettings{WebhookURL: "http://[::1"}, storage.ErrInvalidInput},
		{"empty event", storage.InstanceSettings{WebhookEvents: []string{""}}, storage.ErrInvalidInput},
		{"headers", storage.InstanceSettings{WebhookHeaders: map[string]string{"X-Key": "v", "jwt_key": "k"}}, nil},
		{"header name", storage.InstanceSettings{WebhookHeaders: map[string]string{"bad name": "v"}}, storage.ErrInvalidInput},
		{"header line break", storage.InstanceSettings{WebhookHeaders: map[string]string{"X": "a\r\nB: c"}}, storage.ErrInvalidInput},
		{"token hash", storage.InstanceSettings{TokenSHA256: "ABC"}, storage.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTooLargeError(t *testing.T) {
	d := storage.Disconnect{InstanceID: storage.NewID(), At: time.Now(), Kind: "x",
		Decision: json.RawMessage(`"` + strings.Repeat("a", storage.MaxJSONBytes) + `"`)}
	err := d.Validate()
	var tl *storage.TooLargeError
	if !errors.As(err, &tl) || tl.Field != "decision" || tl.Max != storage.MaxJSONBytes || tl.Size != storage.MaxJSONBytes+2 {
		t.Fatalf("Validate = %v, want a *TooLargeError for decision", err)
	}
}

func TestTimestamp(t *testing.T) {
	loc := time.FixedZone("BRT", -3*3600)
	in := time.Date(2026, 1, 2, 3, 4, 5, 123456789, loc)
	got := storage.Timestamp(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Fatalf("Timestamp = %v", got)
	}
}

// TestEncodedIsCheckedForSize: a document marked Encoded is not parsed,
// but an empty or oversized one is refused as before.
func TestEncodedIsCheckedForSize(t *testing.T) {
	id := storage.NewID()
	ev := func(payload string, encoded bool) storage.OutboxEvent {
		return storage.OutboxEvent{InstanceID: id, Event: "connection.update", Payload: json.RawMessage(payload), Encoded: encoded}
	}
	big := `"` + strings.Repeat("x", storage.MaxPayloadBytes) + `"`
	for _, c := range []struct {
		ev   storage.OutboxEvent
		want error
	}{
		{ev(`{"a":1}`, true), nil},
		{ev(`{"a"`, true), nil}, // trusted: not parsed
		{ev(`{"a"`, false), storage.ErrInvalidInput},
		{ev(``, true), storage.ErrInvalidInput},
		{ev(big, true), storage.ErrTooLarge},
	} {
		if err := c.ev.Validate(); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("Validate(%.20q, encoded %t) = %v, want %v", c.ev.Payload, c.ev.Encoded, err, c.want)
		}
	}
	d := storage.Disconnect{InstanceID: id, At: time.Now(), Kind: "disconnected", Input: json.RawMessage(big), Encoded: true}
	if err := d.Validate(); !errors.Is(err, storage.ErrTooLarge) {
		t.Errorf("Disconnect.Validate(oversized encoded input) = %v, want ErrTooLarge", err)
	}
}

// Package sinktest is what the broker sinks' tests share: a PostgreSQL
// outbox in a schema of its own, instances, a dispatcher that runs until
// the test ends, and units of work that enqueue events. Tests only.
package sinktest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/postgres"
	"github.com/wahost/wahost/storage/testenv"
)

// Store opens a PostgreSQL store in a fresh schema, dropped at cleanup.
func Store(t testing.TB) *postgres.Store {
	t.Helper()
	ctx := context.Background()
	schema := testenv.Name("wahost_sink_")
	s, err := postgres.Open(ctx, postgres.Config{URL: testenv.PostgresURL(t), Schema: schema, MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, _, err := s.SessionDB()
		if err == nil {
			_, _ = db.Exec(`DROP SCHEMA "` + schema + `" CASCADE`)
			_ = db.Close()
		}
		_ = s.Close()
	})
	return s
}

// Instance creates an instance with settings.
func Instance(t testing.TB, s storage.Store, name string, set storage.InstanceSettings) storage.Instance {
	t.Helper()
	ctx := context.Background()
	in, err := s.CreateInstance(ctx, storage.Instance{Name: name, OwnerJID: "5511999999999:7@s.whatsapp.net"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSettings(ctx, in.ID, set); err != nil {
		t.Fatal(err)
	}
	return in
}

// Run runs d until the test ends.
func Run(t testing.TB, d *webhook.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Payload is the data of the events Enqueue writes: which one of its
// instance it is.
type Payload struct {
	N int `json:"n"`
}

// Enqueue writes events of inst, numbered from first, in units of work of
// up to 100, and nudges d after each commit.
func Enqueue(t testing.TB, s storage.Store, d *webhook.Dispatcher, inst storage.Instance, event string, first, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; {
		k := min(100, n-i)
		err := s.InTx(ctx, func(tx storage.Tx) error {
			for j := range k {
				if err := d.Enqueue(ctx, tx, inst, event, Payload{N: first + i + j}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		d.Nudge()
		i += k
	}
}

// Envelope is the body a consumer written for Evolution API reads.
type Envelope struct {
	Event     string          `json:"event"`
	Instance  string          `json:"instance"`
	Data      json.RawMessage `json:"data"`
	ServerURL string          `json:"server_url"`
	DateTime  string          `json:"date_time"`
	Sender    string          `json:"sender"`
}

// Decode reads an envelope and its payload number; a body with a
// destination field fails the test (brokers get the envelope without it).
func Decode(t testing.TB, body []byte) (Envelope, int) {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if _, ok := raw["destination"]; ok {
		t.Fatalf("body %s has a destination", body)
	}
	var env Envelope
	_ = json.Unmarshal(body, &env)
	var p Payload
	_ = json.Unmarshal(env.Data, &p)
	return env, p.N
}

// Sequence checks that the numbers each key received are 0..n-1 in order
// once repeats are dropped, and returns how many repeats there were.
type Sequence struct {
	next    map[string]int
	repeats int
}

// NewSequence returns an empty Sequence.
func NewSequence() *Sequence { return &Sequence{next: make(map[string]int)} }

// Add records number n of key; it returns an error when n skips ahead
// (an event missing or out of order).
func (q *Sequence) Add(key string, n int) error {
	switch want := q.next[key]; {
	case n == want:
		q.next[key]++
	case n < want:
		q.repeats++
	default:
		return fmt.Errorf("%s: got event %d, want %d (missing or out of order)", key, n, want)
	}
	return nil
}

// Count is how many distinct events key received.
func (q *Sequence) Count(key string) int { return q.next[key] }

// Repeats is how many events arrived again.
func (q *Sequence) Repeats() int { return q.repeats }

// Deadline is how long a test waits for what it expects.
const Deadline = 2 * time.Minute

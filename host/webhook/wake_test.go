package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// TestWakeOnCommit: with WakeOn, a unit of work that commits outbox rows
// wakes the dispatcher and the event stream's readers by itself, with no
// Nudge from its writer and a poll an hour away.
func TestWakeOnCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, open func(t *testing.T, now func() time.Time) storage.Store) {
		s := open(t, nil)
		ctx := context.Background()
		got := make(chan struct{}, 1)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			select {
			case got <- struct{}{}:
			default:
			}
		}))
		defer rc.Close()
		d, err := webhook.New(webhook.Config{Store: s, Global: webhook.Destination{URL: rc.URL}, PollInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		d.WakeOn(s)
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = d.Stop(ctx) }()
		inst, err := s.CreateInstance(ctx, storage.Instance{Name: "woken"})
		if err != nil {
			t.Fatal(err)
		}
		committed := d.Committed()
		if err := s.InTx(ctx, func(tx storage.Tx) error {
			return d.Enqueue(ctx, tx, inst, "CONNECTION_UPDATE", map[string]string{"state": "open"})
		}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []<-chan struct{}{committed, got} {
			select {
			case <-c:
			case <-time.After(waitLimit):
				t.Fatal("the commit woke neither the stream readers nor the dispatcher")
			}
		}
	})
}

package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// TestStartStop: the dispatcher's Start and Stop follow the host's one
// lifecycle: Stop before Start and a second Stop are no-ops, a second
// Start is refused, and a Stop whose context ends while a receiver hangs
// cuts the delivery short (it goes out again after its lease) and
// returns.
func TestStartStop(t *testing.T) {
	s := backends[0].open(t, nil)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ hit) int {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return http.StatusOK
	})
	d, err := webhook.New(webhook.Config{Store: s, Global: webhook.Destination{URL: rc.URL}, Timeout: time.Hour, Lease: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err == nil {
		t.Fatal("a second Start of a running dispatcher succeeded")
	}
	enqueue(t, s, d, newInstance(t, s, "hanging", storage.InstanceSettings{}), "qrcode.updated", map[string]any{})
	select {
	case <-arrived:
	case <-time.After(waitLimit):
		t.Fatal("no delivery started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has passed: the stop cuts at once
	if err := d.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with the receiver hanging = %v, want the context's error", err)
	}
	if err := d.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

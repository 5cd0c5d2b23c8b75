package wafake_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// manualClock is a server clock the test moves.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestRateLimit: after a 503 the server refuses the device's logins for
// the cool-down, with a 503 of its own that starts the cool-down again;
// past it the device logs in; an end whose code the limit does not name
// starts no cool-down.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := &manualClock{now: time.Now()}
	srv := wafaketest.NewServer(t, wafake.Config{Now: clk.Now})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000081"))
	srv.SetRateLimit(wafake.RateLimit{Cooldown: 10 * time.Second, After: []string{"503"}})
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()

	live := acceptDevice(t, srv, alice.JID)
	mark := alice.Events.Len()
	if err := wafake.StreamError("503")(ctx, live); err != nil {
		t.Fatal(err)
	}
	wafaketest.WaitFrom(t, alice.Events, mark, func(*events.Disconnected) bool { return true })

	for i, wait := range []time.Duration{9 * time.Second, 9 * time.Second} {
		clk.Advance(wait)
		mark = alice.Events.Len()
		if err := alice.Client.Connect(); err != nil {
			t.Fatal(err)
		}
		refused := acceptDevice(t, srv, alice.JID)
		wafaketest.WaitScript(t, refused)
		wafaketest.WaitFrom(t, alice.Events, mark, func(*events.Disconnected) bool { return true })
		if got := srv.Refusals(); got != i+1 {
			t.Fatalf("after a login %v after the last end: Refusals() = %d, want %d", wait, got, i+1)
		}
	}

	clk.Advance(10 * time.Second)
	alice.Reconnect(t)
	live = acceptDevice(t, srv, alice.JID)
	mark = alice.Events.Len()
	live.Drop() // no code: no cool-down
	wafaketest.WaitFrom(t, alice.Events, mark, func(*events.Disconnected) bool { return true })
	alice.Reconnect(t)
	if got := srv.Refusals(); got != 2 {
		t.Fatalf("Refusals() = %d after the logins past the cool-down, want 2", got)
	}
}

// acceptDevice returns the server's next connection of dev, passing over
// others.
func acceptDevice(t *testing.T, srv *wafake.Server, dev types.JID) *wafake.Conn {
	t.Helper()
	for {
		if c := wafaketest.Accept(t, srv); c.DeviceJID() == dev {
			return c
		}
	}
}

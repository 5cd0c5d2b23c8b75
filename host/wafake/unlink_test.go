package wafake_test

import (
	"context"
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestRemoveDevice unlinks a connected device: it is logged out, leaves
// the device lists, and a device that had fetched the list is told, so
// its next fetch no longer names it.
func TestRemoveDevice(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000121"))
	bobPhone := wafaketest.User(t, srv, "15550000122")
	bob1 := wafaketest.LinkDevice(t, srv, bobPhone)
	bob2 := wafaketest.LinkDevice(t, srv, bobPhone)

	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	if devs, err := alice.Client.GetUserDevices(ctx, []types.JID{bobPhone.JID}); err != nil || len(devs) != 2 {
		t.Fatalf("bob's devices before unlinking = %v, %v; want two", devs, err)
	}

	srv.RemoveDevice(bob2.JID)
	if out := wafaketest.Wait[*events.LoggedOut](t, bob2.Events); out.OnConnect {
		t.Errorf("LoggedOut.OnConnect = true, want false")
	}
	wafaketest.AwaitRelayed(t, srv, func(r wafake.Relayed) bool {
		return r.Tag == "notification" && r.From == bob2.JID && r.To == alice.JID
	})
	alice.Sync(t)
	devs, err := alice.Client.GetUserDevices(ctx, []types.JID{bobPhone.JID})
	if err != nil || len(devs) != 1 || devs[0] != bob1.JID {
		t.Errorf("bob's devices after unlinking = %v, %v; want [%s]", devs, err, bob1.JID)
	}
	if !srv.Removed(bob2.JID) || srv.Removed(bob1.JID) {
		t.Errorf("Removed: bob2 %v, bob1 %v", srv.Removed(bob2.JID), srv.Removed(bob1.JID))
	}
}

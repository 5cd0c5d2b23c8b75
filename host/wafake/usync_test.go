package wafake_test

import (
	"context"
	"testing"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestIsOnWhatsApp checks the usync contact query: registered numbers are
// in, with their JIDs; others are out.
func TestIsOnWhatsApp(t *testing.T) {
	t.Parallel()
	srv := wafaketest.NewServer(t, wafake.Config{})
	alice := wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, "15550000111"))
	bob, err := srv.RegisterUser("+1 555 000 0112")
	if err != nil {
		t.Fatalf("RegisterUser: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wafaketest.Timeout)
	defer cancel()
	got, err := alice.Client.IsOnWhatsApp(ctx, []string{"+15550000112", "+15559999999"})
	if err != nil {
		t.Fatalf("IsOnWhatsApp: %v", err)
	}
	want := map[string]types.IsOnWhatsAppResponse{
		"+15550000112": {Query: "+15550000112", JID: bob, IsIn: true},
		"+15559999999": {Query: "+15559999999", JID: types.NewJID("15559999999", types.DefaultUserServer), IsIn: false},
	}
	if len(got) != len(want) {
		t.Fatalf("IsOnWhatsApp returned %d answers: %+v", len(got), got)
	}
	for _, r := range got {
		w, ok := want[r.Query]
		if !ok || r.JID != w.JID || r.IsIn != w.IsIn {
			t.Errorf("answer %+v, want %+v", r, w)
		}
	}
	devs, err := alice.Client.GetUserDevices(ctx, []types.JID{alice.Phone.JID, bob})
	if err != nil || len(devs) != 0 {
		t.Errorf("GetUserDevices = %v, %v; want none (own device left out, bob has no keys)", devs, err)
	}
}

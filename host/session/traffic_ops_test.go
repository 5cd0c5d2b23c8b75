package session_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
)

// countingCache counts the reads of sent messages.
type countingCache struct {
	storage.Cache
	sentReads atomic.Int32
}

func (c *countingCache) Get(ctx context.Context, instance, key string) ([]byte, error) {
	if strings.HasPrefix(key, "sent:") {
		c.sentReads.Add(1)
	}
	return c.Cache.Get(ctx, instance, key)
}

// TestRetryAfterRestart checks that a retry receipt for a message sent
// before a restart is answered from the cache: whatsmeow's own memory of
// its sends is gone with the old client.
func TestRetryAfterRestart(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	cache := &countingCache{Cache: r.cache}
	restartWith(t, r, cache) // the same cache, counted

	srv := r.env.Server
	srv.PauseRelay(r.peer.JID, true)
	sent := r.send(t, message.Outgoing{ID: "3EB00000000000RETRY1", To: r.peer.Phone.JID.String(), Kind: message.KindText, Text: "retry me"}, nil)

	restartWith(t, r, cache) // a restart while the message waits for the peer
	srv.CorruptNext(r.peer.JID, 1)
	srv.PauseRelay(r.peer.JID, false)

	wafaketest.AwaitRelayed(t, srv, wafake.RelayedReceipt(sent.ID, "retry", r.dev))
	got := r.peer.WaitMessage(t, sent.ID)
	if got.Message.GetConversation() != "retry me" {
		t.Errorf("peer decoded %v after the retry", got.Message)
	}
	if cache.sentReads.Load() == 0 {
		t.Error("the retry was not answered from the cache")
	}
}

// restartWith restarts the rig's Manager with cache and logs it in.
func restartWith(t *testing.T, r *trafficRig, cache storage.Cache) {
	t.Helper()
	r.env.SetCache(cache)
	r.env.Restart(t)
	r.env.Manager.SetTraffic(r.traffic)
	connectOpen(t, r.env, r.id, len(r.env.Handler.Calls(r.id))+1)
}

// TestSendErrors checks the errors the messaging service branches on.
func TestSendErrors(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{SendTimeout: time.Second})
	ctx := ctxT(t)
	out := message.Outgoing{To: r.peer.Phone.JID.String(), Kind: message.KindText, Text: "x"}

	r.env.Server.AckError(r.dev, 479)
	out.ID = "3EB0" + randomID()
	var se *message.ServerError
	if _, err := r.env.Manager.Send(ctx, r.id, out, nil); !errors.As(err, &se) || se.Code != 479 {
		t.Errorf("Send with an error ack = %v; want ServerError 479", err)
	}
	r.env.Server.AckError(r.dev, 0)

	r.env.Server.DropAcks(r.dev, true)
	out.ID = "3EB0" + randomID()
	if _, err := r.env.Manager.Send(ctx, r.id, out, nil); !errors.Is(err, message.ErrTimeout) {
		t.Errorf("Send without an ack = %v; want ErrTimeout", err)
	}
	r.env.Server.DropAcks(r.dev, false)

	var ie *message.InvalidError
	bad := out
	bad.To = "nobody@example.com"
	if _, err := r.env.Manager.Send(ctx, r.id, bad, nil); !errors.As(err, &ie) {
		t.Errorf("Send to a bad JID = %v; want InvalidError", err)
	}
	img := out
	img.Kind = message.KindImage
	if _, err := r.env.Manager.Send(ctx, r.id, img, nil); !errors.As(err, &ie) {
		t.Errorf("Send of an image without its file = %v; want InvalidError", err)
	}
	if _, err := r.env.Manager.Send(ctx, "no-such-instance", out, nil); !errors.Is(err, message.ErrNotConnected) {
		t.Errorf("Send on an unknown instance = %v; want ErrNotConnected", err)
	}
	if err := r.env.Manager.Disconnect(r.id); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Send":              func() error { _, err := r.env.Manager.Send(ctx, r.id, out, nil); return err }(),
		"IsOnWhatsApp":      func() error { _, err := r.env.Manager.IsOnWhatsApp(ctx, r.id, []string{"1555"}); return err }(),
		"MarkRead":          r.env.Manager.MarkRead(ctx, r.id, out.To, "", []string{"A"}, time.Time{}),
		"SendPresence":      r.env.Manager.SendPresence(ctx, r.id, out.To, message.PresenceComposing),
		"ProfilePictureURL": func() error { _, err := r.env.Manager.ProfilePictureURL(ctx, r.id, out.To); return err }(),
		"Download": func() error {
			_, _, err := r.env.Manager.Download(ctx, r.id, []byte(`{"imageMessage":{"directPath":"/p","mediaKey":"AQ=="}}`))
			return err
		}(),
	} {
		if !errors.Is(err, message.ErrNotConnected) {
			t.Errorf("%s while disconnected = %v; want ErrNotConnected", name, err)
		}
	}
}

// TestSessionOps checks the number check, profile pictures, read
// receipts and presence against the fake server.
func TestSessionOps(t *testing.T) {
	t.Parallel()
	r := newTrafficRig(t, session.Config{})
	ctx := ctxT(t)
	m := r.env.Manager
	peerNumber := r.peer.Phone.JID.User

	checks, err := m.IsOnWhatsApp(ctx, r.id, []string{"+" + peerNumber, "15559999999"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]message.Check{
		"+" + peerNumber: {Query: "+" + peerNumber, JID: r.peer.Phone.JID.String(), Exists: true},
		"15559999999":    {Query: "15559999999"},
	}
	if len(checks) != 2 {
		t.Fatalf("IsOnWhatsApp = %+v", checks)
	}
	for _, c := range checks {
		if want[c.Query] != c {
			t.Errorf("check %+v, want %+v", c, want[c.Query])
		}
	}
	if _, err := m.IsOnWhatsApp(ctx, r.id, []string{"call me"}); err == nil {
		t.Error("IsOnWhatsApp took a non-number")
	}

	r.env.Server.SetProfilePicture(r.peer.Phone.JID, bytes.Repeat([]byte{0xff}, 64))
	if url, err := m.ProfilePictureURL(ctx, r.id, r.peer.Phone.JID.String()); err != nil || url == "" {
		t.Errorf("ProfilePictureURL = %q, %v; want the peer's picture", url, err)
	}
	if url, err := m.ProfilePictureURL(ctx, r.id, r.me.String()); err != nil || url != "" {
		t.Errorf("ProfilePictureURL without a picture = %q, %v; want none", url, err)
	}

	resp, err := r.peer.Client.SendMessage(ctx, r.me, &waE2E.Message{Conversation: proto.String("read this")})
	if err != nil {
		t.Fatal(err)
	}
	in := r.traffic.Incoming(t, resp.ID, message.EventMessage)
	if err := m.MarkRead(ctx, r.id, in.Key.Chat, in.Key.Sender, []string{in.Key.ID}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	wafaketest.AwaitRelayed(t, r.env.Server, wafake.RelayedReceipt(resp.ID, "read", r.peer.JID))

	for _, p := range []message.Presence{message.PresenceComposing, message.PresenceRecording, message.PresencePaused} {
		if err := m.SendPresence(ctx, r.id, r.peer.Phone.JID.String(), p); err != nil {
			t.Errorf("SendPresence %s: %v", p, err)
		}
	}
	for _, p := range []message.Presence{message.PresenceAvailable, message.PresenceOffline} {
		if err := m.SendPresence(ctx, r.id, "", p); err != nil {
			t.Errorf("SendPresence %s: %v", p, err)
		}
	}
	var ie *message.InvalidError
	if err := m.SendPresence(ctx, r.id, "", message.PresenceComposing); !errors.As(err, &ie) {
		t.Errorf("SendPresence composing without a chat = %v; want InvalidError", err)
	}
}

package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage/testenv"
)

// arrivals counts what a recipient's whatsmeow client received of the
// test's messages ("bulk-<n>"): every arrival in order, by id.
type arrivals struct {
	order []int          // message numbers in order of first arrival
	times map[string]int // id → times received
}

// follow counts the bulk messages d has received until it has want
// distinct ones or ctx ends.
func (a *arrivals) follow(ctx context.Context, d *wafaketest.Device, want int) error {
	a.times = map[string]int{}
	a.order = nil
	_, err := d.Events.AwaitFrom(ctx, 0, func(e any) bool {
		m, ok := e.(*events.Message)
		if !ok {
			return false
		}
		n, err := strconv.Atoi(strings.TrimPrefix(m.Message.GetConversation(), "bulk-"))
		if err != nil {
			return false
		}
		if a.times[m.Info.ID]++; a.times[m.Info.ID] == 1 {
			a.order = append(a.order, n)
		}
		return len(a.order) >= want
	})
	return err
}

// TestMessagesSurviveSIGKILL queues 1,000 messages to four chats in a host
// process, kills it with SIGKILL while it sends them, starts it again on
// the same data, and checks on the recipients — whatsmeow clients on the
// fake server, which the host process dials — that every message arrived,
// in order per chat. A message the first process sent but had not yet
// recorded as sent is sent again after the restart with the same id, so
// the recipient recognises it (WhatsApp's devices drop a repeated id): the
// recipients count distinct ids.
func TestMessagesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts host processes")
	}
	const total, chats = 1000, 4
	srv := wafaketest.NewServer(t, wafake.Config{})
	me := wafaketest.User(t, srv, "5511966660000")
	peers := make([]*wafaketest.Device, chats)
	for i := range peers {
		peers[i] = wafaketest.LinkDevice(t, srv, wafaketest.User(t, srv, fmt.Sprintf("551196666%04d", i+1)))
	}
	hooks := newReceiver(t, "")
	flags := map[string]any{
		"data_dir": t.TempDir(), "http.addr": "127.0.0.1:0", "http.api_key": apiKey, "log.level": "error",
		"policy.cache_dir": testenv.CompileCacheDir(), "webhook.url": hooks.URL,
		"messages.rate": 100, "messages.jitter": "0s",
	}
	first := startChildOn(t, flags, srv.Addr())
	if code, body := first.call(t, "POST", "/v1/instances", `{"name":"bulk"}`); code != http.StatusCreated {
		t.Fatalf("create = %d %s", code, body)
	}
	code, body := first.call(t, "POST", "/v1/instances/bulk/connect", "")
	var connected struct {
		QR struct {
			Code string `json:"code"`
		} `json:"qr"`
	}
	if err := json.Unmarshal(body, &connected); code != http.StatusOK || err != nil || connected.QR.Code == "" {
		t.Fatalf("connect = %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	registering := acceptFrom(ctx, t, srv, (*wafake.Conn).Registering)
	if _, err := registering.Pair(ctx, me, connected.QR.Code); err != nil {
		t.Fatal(err)
	}
	// The login after the restart WhatsApp asks for waits until every
	// message is queued, so that all of them wait for the session.
	gate := make(chan struct{})
	srv.Enqueue(func(ctx context.Context, c *wafake.Conn) error {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return wafake.Auto()(ctx, c)
	})
	if err := wafake.StreamError("515")(ctx, registering); err != nil {
		t.Fatal(err)
	}
	hooks.await("disconnect.decided", func(e webhook.Envelope) bool { return e.Event == "disconnect.decided" })
	// whatsmeow reports the pairing from a goroutine of its own once the
	// device is saved, so the 515 can be decided before the pairing is
	// recorded: wait for the instance's number.
	for deadline := time.Now().Add(time.Minute); ; {
		_, body := first.call(t, "GET", "/v1/instances/bulk", "")
		var inst struct {
			OwnerJID string `json:"owner_jid"`
		}
		if json.Unmarshal(body, &inst) == nil && inst.OwnerJID != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pairing was never recorded: %s", body)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}

	var last string
	for n := range total {
		to := peers[n%chats].Phone.JID.User
		code, body := first.call(t, "POST", "/v1/instances/bulk/messages", fmt.Sprintf(`{"to":%q,"text":"bulk-%d"}`, to, n))
		var accepted struct{ ID, Status string }
		if err := json.Unmarshal(body, &accepted); code != http.StatusAccepted || err != nil || accepted.Status != "queued" {
			t.Fatalf("message %d: %d %s", n, code, body)
		}
		last = accepted.ID
	}
	close(gate)

	// Kill the host once the recipients have something, the bulk still
	// queued.
	var before arrivals
	if err := before.follow(ctx, peers[0], 30); err != nil {
		t.Fatalf("before the kill: %v", err)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.cmd.Wait()

	second := startChildOn(t, flags, srv.Addr())
	dups, delivered := 0, 0
	for i, peer := range peers {
		var a arrivals
		if err := a.follow(ctx, peer, total/chats); err != nil {
			t.Fatalf("chat %d after the restart: %d of %d messages: %v", i, len(a.order), total/chats, err)
		}
		for j, n := range a.order {
			if n%chats != i || j > 0 && n <= a.order[j-1] {
				t.Fatalf("chat %d: message %d arrived after %v", i, n, a.order[max(0, j-5):j])
			}
		}
		for _, times := range a.times {
			dups += times - 1
		}
		delivered += len(a.order)
	}
	if delivered != total {
		t.Fatalf("%d distinct messages arrived, want %d", delivered, total)
	}
	// The restarted host recorded the acknowledgement of the last one.
	for {
		code, body := second.call(t, "GET", "/v1/instances/bulk/messages/"+last, "")
		var m struct{ Status string }
		if err := json.Unmarshal(body, &m); code != http.StatusOK || err != nil {
			t.Fatalf("message %s: %d %s", last, code, body)
		}
		if m.Status != "queued" {
			if m.Status == "failed" {
				t.Fatalf("message %s failed: %s", last, body)
			}
			break
		}
		hooks.await("the last message's status", func(e webhook.Envelope) bool {
			return e.Event == "messages.update" && strings.Contains(string(e.Data), last)
		})
	}
	t.Logf("%d messages in %d chats: %d arrived before SIGKILL at the first chat's recipient, all after the restart; %d repeated ids",
		total, chats, len(before.order), dups)
}

// acceptFrom returns the next connection srv accepts that match takes.
func acceptFrom(ctx context.Context, t *testing.T, srv *wafake.Server, match func(*wafake.Conn) bool) *wafake.Conn {
	t.Helper()
	for {
		c, err := srv.Accept(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if match(c) {
			return c
		}
	}
}

package messaging_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/storage"
)

const peer = "5511999990001@s.whatsapp.net"

func TestAcceptSendsInOrderAndReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		var ids []string
		for _, body := range []string{"one", "two", "three"} {
			a := e.accept(text("+55 11 99999-0001", body), "")
			if a.Message.Status != storage.MessageQueued || !strings.HasPrefix(a.Message.ID, "3EB0") || len(a.Message.ID) != 22 {
				t.Fatalf("accepted %+v", a.Message)
			}
			ids = append(ids, a.Message.ID)
		}
		for i, want := range []string{"one", "two", "three"} {
			c := e.sess.awaitSend(t)
			if c.Out.Text != want || c.Out.ID != ids[i] || c.Out.To != peer {
				t.Fatalf("send %d: %+v, want %q as %s", i, c.Out, want, ids[i])
			}
		}
		m := e.awaitStatus(ids[2], storage.MessageSent)
		if !m.Timestamp.Equal(t0) {
			t.Errorf("timestamp %v, want the ack's %v", m.Timestamp, t0)
		}
		e.awaitStatus(ids[0], storage.MessageSent)
		evs := e.events()
		var got []string
		for _, ev := range evs {
			got = append(got, ev.Event)
		}
		want := strings.Repeat("send.message messages.update ", 3)
		if strings.Join(got, " ")+" " != want {
			t.Fatalf("events %v", got)
		}
		sent := evs[0].Data
		key := sent["key"].(map[string]any)
		if key["id"] != ids[0] || key["remoteJid"] != peer || key["fromMe"] != true ||
			sent["messageType"] != "conversation" || sent["source"] != "web" || sent["instanceId"] != e.inst.ID {
			t.Errorf("send.message %s", evs[0].Raw)
		}
		upd := evs[1].Data
		if upd["keyId"] != ids[0] || upd["status"] != "SERVER_ACK" || upd["remoteJid"] != peer {
			t.Errorf("messages.update %s", evs[1].Raw)
		}
	})
}

func TestPacingUsesRateAndJitter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], func(c *messaging.Config) { c.Rate, c.Jitter = 1, 2*time.Second })
	first := e.accept(text(peer, "a"), "")
	second := e.accept(text(peer, "b"), "")
	if c := e.sess.awaitSend(t); c.Out.ID != first.Message.ID {
		t.Fatalf("first send %s", c.Out.ID)
	}
	// Interval 1s + jitter 0.5 × 2s: nothing before 2s.
	select {
	case <-e.clock.WaitForTimers(1):
	case <-time.After(waitLimit):
		t.Fatal("worker never waited")
	}
	e.clock.Advance(1999 * time.Millisecond)
	select {
	case c := <-e.sess.sends:
		t.Fatalf("sent %s before the pace allowed", c.Out.ID)
	default:
	}
	e.clock.Advance(time.Millisecond)
	if c := e.sess.awaitSend(t); c.Out.ID != second.Message.ID {
		t.Fatalf("second send %s", c.Out.ID)
	}
}

func TestDownSessionWaitsThenWakes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrNotConnected })
	a := e.accept(text(peer, "later"), "")
	e.sess.awaitSend(t) // refused: the session is down
	e.sess.setResult(nil)
	e.svc.Wake(e.inst.ID) // the session opened
	m := e.awaitStatus(a.Message.ID, storage.MessageSent)
	if m.Attempts != 0 {
		t.Errorf("attempts %d: a closed session is not an attempt", m.Attempts)
	}
}

func TestExpiryFailsWithUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], func(c *messaging.Config) { c.TTL, c.RetryDelay = 10*time.Minute, time.Hour })
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrNotConnected })
	a := e.accept(text(peer, "too late"), "")
	e.sess.awaitSend(t)
	<-e.clock.WaitForTimers(1)
	e.clock.Advance(10 * time.Minute)
	m := e.awaitStatus(a.Message.ID, storage.MessageFailed)
	if m.Reason != messaging.ReasonExpired {
		t.Fatalf("reason %q", m.Reason)
	}
	evs := e.events()
	if len(evs) != 1 || evs[0].Event != "messages.update" || evs[0].Data["status"] != "ERROR" || evs[0].Data["reason"] != "expired" {
		t.Fatalf("events %+v", evs)
	}
}

func TestFailuresByKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		err    error
		reason string
	}{
		{"not on whatsapp", message.ErrNotOnWhatsApp, messaging.ReasonNotOnWhatsApp},
		{"server error", &message.ServerError{Code: 479}, "server_error:479"},
		{"invalid", &message.InvalidError{Reason: "bad jid"}, "invalid: bad jid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, backends[0], nil)
			e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, tc.err })
			a := e.accept(text(peer, "x"), "")
			if m := e.awaitStatus(a.Message.ID, storage.MessageFailed); m.Reason != tc.reason {
				t.Fatalf("reason %q, want %q", m.Reason, tc.reason)
			}
		})
	}
}

func TestTimeoutRetriesWithTheSameID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrTimeout })
	a := e.accept(text(peer, "again"), "")
	e.sess.awaitSend(t)
	e.sess.setResult(nil)
	<-e.clock.WaitForTimers(1)
	e.clock.Advance(time.Minute)
	if c := e.sess.awaitSend(t); c.Out.ID != a.Message.ID {
		t.Fatalf("retry as %s", c.Out.ID)
	}
	if m := e.awaitStatus(a.Message.ID, storage.MessageSent); m.Attempts != 1 {
		t.Errorf("attempts %d, want 1", m.Attempts)
	}
}

func TestIdempotencyKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		e := newEnv(t, b, nil)
		first := e.accept(text(peer, "once"), "order-42")
		again := e.accept(text(peer, "once"), "order-42")
		if !again.Repeated || again.Message.ID != first.Message.ID || first.Repeated {
			t.Fatalf("first %+v, again %+v", first, again)
		}
		e.sess.awaitSend(t)
		e.awaitStatus(first.Message.ID, storage.MessageSent)
		select {
		case c := <-e.sess.sends:
			t.Fatalf("sent twice: %+v", c)
		default:
		}
	})
}

func TestLogoutFailsTheQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrNotConnected })
	a := e.accept(text(peer, "1"), "")
	b := e.accept(text(peer, "2"), "")
	ctx := context.Background()
	if err := e.store.InTx(ctx, func(tx storage.Tx) error { return e.svc.FailQueued(ctx, tx, e.inst) }); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.Message.ID, b.Message.ID} {
		if m := e.awaitStatus(id, storage.MessageFailed); m.Reason != messaging.ReasonLoggedOut {
			t.Fatalf("reason %q", m.Reason)
		}
	}
	var n int
	for _, ev := range e.events() {
		if ev.Event == "messages.update" && ev.Data["status"] == "ERROR" && ev.Data["reason"] == "logged_out" {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d logged_out updates, want 2", n)
	}
}

func TestResumesAfterRestartWithTheSameID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends[0], nil)
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrNotConnected })
	a := e.accept(text(peer, "survive"), "")
	e.sess.awaitSend(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := e.svc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	e.sess.setResult(nil)
	e.start() // a new process on the same store
	if c := e.sess.awaitSend(t); c.Out.ID != a.Message.ID || c.Out.Text != "survive" {
		t.Fatalf("resumed %+v", c.Out)
	}
	e.awaitStatus(a.Message.ID, storage.MessageSent)
}

func TestMedia(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.jpg":
			w.Header().Set("Content-Type", "image/jpeg")
			_, _ = w.Write([]byte("jpeg-bytes"))
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := newEnv(t, backends[0], func(c *messaging.Config) { c.MaxMedia = 64 })

	a := e.accept(message.Outgoing{To: peer, Kind: message.KindImage, Media: &message.Media{URL: srv.URL + "/cat.jpg", Caption: "cat"}}, "")
	c := e.sess.awaitSend(t)
	if string(c.Media) != "jpeg-bytes" || c.Out.Media.MIMEType != "image/jpeg" || c.Out.Media.Caption != "cat" || c.Out.ID != a.Message.ID {
		t.Fatalf("send %+v media %q", c.Out, c.Media)
	}
	inline := e.accept(message.Outgoing{To: peer, Kind: message.KindDocument, Media: &message.Media{Data: []byte("%PDF"), FileName: "a.pdf"}}, "")
	if c := e.sess.awaitSend(t); string(c.Media) != "%PDF" || c.Out.Media.Data != nil || c.Out.ID != inline.Message.ID {
		t.Fatalf("inline send %+v", c)
	}
	gone := e.accept(message.Outgoing{To: peer, Kind: message.KindImage, Media: &message.Media{URL: srv.URL + "/missing"}}, "")
	if m := e.awaitStatus(gone.Message.ID, storage.MessageFailed); m.Reason != messaging.ReasonMediaUnreachable {
		t.Fatalf("reason %q", m.Reason)
	}
	big := e.accept(message.Outgoing{To: peer, Kind: message.KindVideo, Media: &message.Media{URL: srv.URL + "/big"}}, "")
	if m := e.awaitStatus(big.Message.ID, storage.MessageFailed); m.Reason != messaging.ReasonMediaTooLarge {
		t.Fatalf("reason %q", m.Reason)
	}
	_, err := e.svc.Accept(context.Background(), e.inst.ID,
		message.Outgoing{To: peer, Kind: message.KindImage, Media: &message.Media{Data: make([]byte, 65)}}, "")
	if !errors.Is(err, messaging.ErrTooLarge) {
		t.Fatalf("inline over max: %v", err)
	}
}

func TestMediaFetchedOnceWhileWaiting(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("ogg"))
	}))
	defer srv.Close()
	e := newEnv(t, backends[0], nil)
	e.sess.setResult(func(message.Outgoing, []byte) (message.Sent, error) { return message.Sent{}, message.ErrNotConnected })
	a := e.accept(message.Outgoing{To: peer, Kind: message.KindAudio, Media: &message.Media{URL: srv.URL + "/a.ogg", VoiceNote: true}}, "")
	e.sess.awaitSend(t)
	<-e.clock.WaitForTimers(1)
	e.clock.Advance(time.Minute) // the retry delay: still down
	e.sess.awaitSend(t)
	e.sess.setResult(nil)
	e.svc.Wake(e.inst.ID)
	e.awaitStatus(a.Message.ID, storage.MessageSent)
	e.sess.mu.Lock()
	c := e.sess.sent[len(e.sess.sent)-1]
	e.sess.mu.Unlock()
	if string(c.Media) != "ogg" || !c.Out.Media.VoiceNote || c.Out.ID != a.Message.ID {
		t.Fatalf("send %+v %q", c.Out, c.Media)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("media fetched %d times, want once", n)
	}
}

// heldRecord holds the first send.message's unit of work open until
// released: the record of the first acknowledged send commits slowly.
type heldRecord struct {
	messaging.Webhooks
	once    sync.Once
	held    chan struct{} // closed when the first record is being held
	release chan struct{}
	freed   sync.Once
}

func (h *heldRecord) free() { h.freed.Do(func() { close(h.release) }) }

func (h *heldRecord) Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error {
	if event == "send.message" {
		first := false
		h.once.Do(func() { first = true })
		if first {
			close(h.held)
			<-h.release
		}
	}
	return h.Webhooks.Enqueue(ctx, tx, inst, event, payload)
}

// TestNextSendDoesNotWaitForTheRecord runs on PostgreSQL only: SQLite has
// one connection, which the held record would keep.
func TestNextSendDoesNotWaitForTheRecord(t *testing.T) {
	t.Parallel()
	b := backends[1] // PostgreSQL
	hold := &heldRecord{held: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, b, func(c *messaging.Config) {
		hold.Webhooks = c.Webhooks
		c.Webhooks = hold
	})
	t.Cleanup(hold.free) // before the service stops
	// Both are accepted before the first send completes: an accept waits
	// for the instance's row, which the held record keeps locked.
	sending := make(chan struct{})
	var opened sync.Once
	t.Cleanup(func() { opened.Do(func() { close(sending) }) })
	e.sess.setResult(func(out message.Outgoing, _ []byte) (message.Sent, error) {
		<-sending
		return message.Sent{ID: out.ID, Timestamp: t0}, nil
	})
	one := e.accept(text(peer, "one"), "")
	two := e.accept(text(peer, "two"), "")
	opened.Do(func() { close(sending) })
	if c := e.sess.awaitSend(t); c.Out.ID != one.Message.ID {
		t.Fatalf("first send %s, want %s", c.Out.ID, one.Message.ID)
	}
	<-hold.held
	// The first send's record is still uncommitted: the second send
	// goes out all the same.
	if c := e.sess.awaitSend(t); c.Out.ID != two.Message.ID {
		t.Fatalf("second send %s, want %s", c.Out.ID, two.Message.ID)
	}
	hold.free()
	e.awaitStatus(two.Message.ID, storage.MessageSent)
	e.awaitStatus(one.Message.ID, storage.MessageSent)
	// Each message's webhooks, in order, the first message's first.
	var got []string
	for _, ev := range e.events() {
		id, _ := ev.Data["keyId"].(string)
		if key, ok := ev.Data["key"].(map[string]any); ok {
			id, _ = key["id"].(string)
		}
		got = append(got, ev.Event+" "+id)
	}
	want := []string{"send.message " + one.Message.ID, "messages.update " + one.Message.ID,
		"send.message " + two.Message.ID, "messages.update " + two.Message.ID}
	if !slices.Equal(got, want) {
		t.Fatalf("webhooks %q, want %q", got, want)
	}
}

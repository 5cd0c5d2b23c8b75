package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
)

// gateKey keys the channel, in a script's context, that the test closes
// when its handler has seen the login.
type gateKey struct{}

// loggedIn waits until the test's handler has seen the login.
func loggedIn(ctx context.Context, _ *wafake.Conn) error {
	select {
	case <-ctx.Value(gateKey{}).(chan struct{}):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send sends node and returns, leaving the connection open: the client
// reacts (and, for a 515, disconnects) on its own.
// TestDrops connects a real whatsmeow client to the fake server, has the
// server end the session in each way WhatsApp does, and checks the one
// report the Handler gets.
func TestDrops(t *testing.T) {
	t.Parallel()
	type want struct {
		kind     abi.Kind
		code     int
		phase    abi.Phase
		banCode  int
		expireMS int64
		message  string // a substring of Message
	}
	// A script run after a login waits for HandleConnected: whatsmeow
	// dispatches Connected on the goroutine that waited for the post-login
	// IQ, and an event of the next node can overtake it.
	afterLogin := func(s wafake.Script) wafake.Script { return wafake.Steps(wafake.Success(), loggedIn, s) }
	cases := []struct {
		name     string
		unpaired bool
		script   wafake.Script
		want     want
	}{
		{"disconnected after login", false, afterLogin(wafake.Drop()),
			want{kind: abi.KindDisconnected, code: 428, phase: abi.PhaseOpen, message: "connection closed"}},
		{"closed before login", false, wafake.Close(),
			want{kind: abi.KindDisconnected, code: 428, phase: abi.PhaseConnecting, message: "connection closed"}},
		{"stream replaced", false, afterLogin(wafake.StreamReplaced()),
			want{kind: abi.KindStreamReplaced, code: 440, phase: abi.PhaseOpen}},
		{"logged out 401 on connect", false, wafake.Failure(401, nil),
			want{kind: abi.KindLoggedOut, code: 401, phase: abi.PhaseConnecting, message: "on connect"}},
		{"logged out 403 main device gone", false, wafake.Failure(403, waBinary.Attrs{"logout_message_header": "locked"}),
			want{kind: abi.KindLoggedOut, code: 403, phase: abi.PhaseConnecting}},
		{"logged out 406 banned", false, wafake.Failure(406, nil),
			want{kind: abi.KindLoggedOut, code: 406, phase: abi.PhaseConnecting}},
		{"device removed while open", false, afterLogin(wafake.DeviceRemoved()),
			want{kind: abi.KindLoggedOut, code: 401, phase: abi.PhaseOpen, message: "while connected"}},
		{"temporary ban", false, wafake.TemporaryBan(103, 36*time.Hour),
			want{kind: abi.KindTemporaryBan, code: 402, phase: abi.PhaseConnecting, banCode: 103,
				expireMS: (36 * time.Hour).Milliseconds(), message: "too many groups"}},
		{"connect failure 409", false, wafake.Failure(409, waBinary.Attrs{"message": "bad user agent"}),
			want{kind: abi.KindConnectFailure, code: 409, phase: abi.PhaseConnecting, message: "bad user agent"}},
		{"connect failure 503 whatsmeow only logs", false, wafake.Failure(503, nil),
			want{kind: abi.KindConnectFailure, code: 503, phase: abi.PhaseConnecting}},
		{"connect failure 500 whatsmeow only logs", false, wafake.Failure(500, nil),
			want{kind: abi.KindConnectFailure, code: 500, phase: abi.PhaseConnecting}},
		{"client outdated", false, wafake.Failure(405, nil),
			want{kind: abi.KindClientOutdated, code: 405, phase: abi.PhaseConnecting}},
		{"stream error 500", false, afterLogin(wafake.StreamError("500")),
			want{kind: abi.KindStreamError, code: 500, phase: abi.PhaseOpen, message: "code 500"}},
		{"bare stream error 401", false, wafake.StreamError("401"),
			want{kind: abi.KindStreamError, code: 401, phase: abi.PhaseConnecting}},
		{"stream error 503 whatsmeow only logs", false, afterLogin(wafake.StreamError("503")),
			want{kind: abi.KindStreamError, code: 503, phase: abi.PhaseOpen}},
		{"stream error without code", false, afterLogin(wafake.StreamError("", waBinary.Node{Tag: "xml-not-well-formed"})),
			want{kind: abi.KindStreamError, code: 500, phase: abi.PhaseOpen}},
		{"CAT refresh error", false, wafake.Failure(413, nil),
			want{kind: abi.KindCATRefreshError, code: 413, phase: abi.PhaseConnecting}},
		{"restart required", false, afterLogin(wafake.StreamError("515")),
			want{kind: abi.KindRestartRequired, code: 515, phase: abi.PhaseOpen}},
		{"QR scanned without multi-device", true, wafake.Steps(wafake.ShowQR("2@only-ref"), wafake.DowngradeWebclient()),
			want{kind: abi.KindMultideviceMismatch, code: 411, phase: abi.PhaseQR}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gate := make(chan struct{})
			script := func(ctx context.Context, c *wafake.Conn) error {
				return tc.script(context.WithValue(ctx, gateKey{}, gate), c)
			}
			env := sessiontest.New(t, sessiontest.Options{Server: wafake.Config{Script: script}})
			env.Handler.OnCall = func(c sessiontest.Call) {
				if c.Method == sessiontest.Connected {
					close(gate)
				}
			}
			var phone *wafake.Phone
			if !tc.unpaired {
				phone = wafake.NewPhone("15550001234")
			}
			inst, _ := env.Instance(t, "drop", storage.StatusClose, phone)
			if err := env.Manager.Connect(context.Background(), inst.ID); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			rep := env.Handler.Report(t, inst.ID)
			conn := wafaketest.Accept(t, env.Server)
			wafaketest.WaitScript(t, conn)

			ev := rep.Event
			t.Logf("report: %+v", rep)
			w := tc.want
			if ev.Kind != w.kind || ev.Code != w.code || rep.Phase != w.phase || ev.Cause != abi.CauseNone ||
				ev.BanCode != w.banCode || ev.ExpireMS != w.expireMS {
				t.Errorf("report = %+v; want kind %s, code %d, phase %s, cause none, ban %d, expire %d ms",
					rep, w.kind, w.code, w.phase, w.banCode, w.expireMS)
			}
			if ev.Raw == "" || !strings.Contains(ev.Message, w.message) {
				t.Errorf("raw %q, message %q: want a raw text and a message containing %q", ev.Raw, ev.Message, w.message)
			}
			if (rep.Phase == abi.PhaseOpen) != (rep.ConnectedFor > 0) {
				t.Errorf("ConnectedFor = %v in phase %s", rep.ConnectedFor, rep.Phase)
			}
			if st := env.Manager.State(inst.ID); st.Phase != "" || st.Connected {
				t.Errorf("State after the drop = %+v, want no phase", st)
			}
			// The session learns from whatsmeow's log that the socket is
			// gone; without it, closing the session would wait.
			select {
			case <-session.SocketGone(env.Manager, inst.ID):
			case <-time.After(sessiontest.Timeout):
				t.Error("the session never learnt that whatsmeow handled the close")
			}
			checkOneReport(t, env, inst.ID)
		})
	}
}

// checkOneReport checks that the connection produced one report so far
// (a later Disconnected of the same socket is not reported) and that no
// two handler calls of an instance ran at once.
func checkOneReport(t *testing.T, env *sessiontest.Env, id string) {
	t.Helper()
	calls := env.Handler.Calls(id)
	n := 0
	for _, c := range calls {
		if c.Method == sessiontest.Disconnect {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reports, want 1: %v", n, calls)
	}
	if o := env.Handler.Overlaps(); len(o) > 0 {
		t.Errorf("handler calls overlapped for %v", o)
	}
}

// TestConnectErrors checks that a failed dial is returned and reported
// with its network cause.
func TestConnectErrors(t *testing.T) {
	t.Parallel()
	refusing, err := wafake.RefusingAddr()
	if err != nil {
		t.Fatal(err)
	}
	hole, err := wafake.NewBlackHole()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hole.Close() })
	status, err := wafake.NewStatusServer(http.StatusServiceUnavailable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = status.Close() })

	cases := []struct {
		name  string
		http  *http.Client
		cause abi.Cause
		code  int
	}{
		{"refused", wafake.HTTPClientTo(refusing, 0), abi.CauseRefused, 408},
		{"timeout", wafake.HTTPClientTo(hole.Addr(), 300*time.Millisecond), abi.CauseTimeout, 408},
		{"dns", wafake.DNSFailureHTTPClient(), abi.CauseDNS, 408},
		{"http status", wafake.HTTPClientTo(status.Addr(), 0), abi.CauseHTTPStatus, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := sessiontest.New(t, sessiontest.Options{NoServer: true, Manager: session.Config{HTTPClient: tc.http}})
			inst, _ := env.Instance(t, "dial", storage.StatusConnecting, wafake.NewPhone("15550001234"))
			err := env.Manager.Connect(context.Background(), inst.ID)
			if err == nil {
				t.Fatal("Connect succeeded")
			}
			rep := env.Handler.Report(t, inst.ID)
			ev := rep.Event
			t.Logf("report: %+v", rep)
			if ev.Kind != abi.KindConnectError || ev.Cause != tc.cause || ev.Code != tc.code || rep.Phase != abi.PhaseConnecting {
				t.Errorf("report = %+v, want connect_error, cause %s, code %d, phase connecting", rep, tc.cause, tc.code)
			}
			if ev.Raw == "" || ev.Message == "" {
				t.Errorf("raw %q, message %q: want both", ev.Raw, ev.Message)
			}
			// The next attempt is a new connection, reported on its own.
			if err := env.Manager.Connect(context.Background(), inst.ID); err == nil {
				t.Fatal("second Connect succeeded")
			}
			env.Handler.Wait(t, inst.ID, sessiontest.Disconnect, 2)
		})
	}
}

// TestConnectUnknownInstance checks that connecting an instance the store
// does not have fails without a report.
func TestConnectUnknownInstance(t *testing.T) {
	t.Parallel()
	env := sessiontest.New(t, sessiontest.Options{})
	err := env.Manager.Connect(context.Background(), "0190c5b4-6a5e-7000-8000-000000000000")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Connect of an unknown instance: %v, want storage.ErrNotFound", err)
	}
	if calls := env.Handler.Calls(""); len(calls) != 0 {
		t.Errorf("calls: %v", calls)
	}
}

var _ executor.Sessions = (*session.Manager)(nil)

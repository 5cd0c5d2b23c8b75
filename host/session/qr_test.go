package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/storage"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// advance waits until n timers are armed on clk, then moves it by d.
func advance(t *testing.T, clk *clock.Fake, n int, d time.Duration) {
	t.Helper()
	waitTimers(t, clk, n)
	clk.Advance(d)
}

// waitTimers waits until n timers are armed on clk.
func waitTimers(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	select {
	case <-clk.WaitForTimers(n):
	case <-time.After(sessiontest.Timeout):
		t.Fatalf("%d timers never armed (%d are)", n, clk.Timers())
	}
}

// waitDone waits for the server to see the client's connection end.
func waitDone(t *testing.T, conn *wafake.Conn) {
	t.Helper()
	select {
	case <-conn.Done():
	case <-time.After(sessiontest.Timeout):
		t.Fatalf("connection %d still open", conn.Seq())
	}
}

// TestQRCodes checks that the codes of a pair-device request are shown in
// turn, each for its time on the Manager's clock, and that the login is
// dropped as a QR timeout when the last one expires.
func TestQRCodes(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	env := sessiontest.New(t, sessiontest.Options{
		Server:  wafake.Config{Script: wafake.ShowQR("2@first", "2@second", "2@third")},
		Manager: session.Config{Clock: clk},
	})
	inst, _ := env.Instance(t, "qr", storage.StatusClose, nil)
	if err := env.Manager.Connect(context.Background(), inst.ID); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	conn := wafaketest.Accept(t, env.Server)
	for i, ref := range []string{"2@first", "2@second", "2@third"} {
		c := env.Handler.Wait(t, inst.ID, sessiontest.QR, i+1)
		if !strings.HasPrefix(c.QR.Code, ref+",") {
			t.Errorf("code %d = %q, want ref %s", i+1, c.QR.Code, ref)
		}
		checkPNG(t, c.QR.PNG)
		waitTimers(t, clk, 1) // armed once the code is shown
		if i == 0 {
			qr, ok := env.Manager.QR(inst.ID)
			if !ok || qr.Code != c.QR.Code || qr.Count != 1 || !qr.At.Equal(epoch) {
				t.Errorf("QR() = %+v, %v; want the first code, count 1, at %v", qr, ok, epoch)
			}
			if st := env.Manager.State(inst.ID); st.Phase != abi.PhaseQR || st.Connected || st.JID != "" {
				t.Errorf("State() = %+v, want phase qr", st)
			}
		}
		advance(t, clk, 1, session.QRCodeTimeout) // three refs: 20 s each
	}
	rep := env.Handler.Report(t, inst.ID)
	if rep.Event.Kind != abi.KindQRTimeout || rep.Event.Code != 408 || rep.Phase != abi.PhaseQR {
		t.Errorf("report = %+v, want qr_timeout 408 in phase qr", rep)
	}
	waitDone(t, conn)
	if _, ok := env.Manager.QR(inst.ID); ok {
		t.Error("QR() still shows a code after the timeout")
	}
}

func checkPNG(t *testing.T, dataURL string) {
	t.Helper()
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		t.Fatalf("PNG = %.40q…, want a PNG data URL", dataURL)
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("PNG data URL does not hold a PNG (%v)", err)
	}
}

// TestQRLimit checks that the login stops, unreported, when HandleQR says
// the QR limit is reached.
func TestQRLimit(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	env := sessiontest.New(t, sessiontest.Options{Manager: session.Config{Clock: clk}})
	env.Handler.QRResult = func(_ string, n int) bool { return n < 3 }
	inst, _ := env.Instance(t, "limit", storage.StatusClose, nil)
	if err := env.Manager.Connect(context.Background(), inst.ID); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	conn := wafaketest.Accept(t, env.Server)
	env.Handler.Wait(t, inst.ID, sessiontest.QR, 1)
	advance(t, clk, 1, session.QRFirstCodeTimeout) // six refs: the first lasts a minute
	env.Handler.Wait(t, inst.ID, sessiontest.QR, 2)
	advance(t, clk, 1, session.QRCodeTimeout)
	env.Handler.Wait(t, inst.ID, sessiontest.QR, 3)
	waitDone(t, conn)
	if st := env.Manager.State(inst.ID); st.Phase != "" {
		t.Errorf("State() = %+v after the limit, want no phase", st)
	}
	if qr, ok := env.Manager.QR(inst.ID); ok {
		t.Errorf("QR() = %+v after the limit", qr)
	}
	if clk.Timers() != 0 {
		t.Errorf("%d timers still armed", clk.Timers())
	}
	for _, c := range env.Handler.Calls(inst.ID) {
		if c.Method == sessiontest.Disconnect {
			t.Errorf("the host's stop was reported: %v", c)
		}
	}
}

// TestInactivityTimeout checks that a login that does not pair within
// Config.InactivityTimeout is closed and reported as a QR limit.
func TestInactivityTimeout(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	env := sessiontest.New(t, sessiontest.Options{Manager: session.Config{Clock: clk, InactivityTimeout: 30 * time.Second}})
	inst, _ := env.Instance(t, "idle", storage.StatusClose, nil)
	if err := env.Manager.Connect(context.Background(), inst.ID); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	conn := wafaketest.Accept(t, env.Server)
	env.Handler.Wait(t, inst.ID, sessiontest.QR, 1)
	advance(t, clk, 2, 30*time.Second) // the inactivity timer and the first code's
	rep := env.Handler.Report(t, inst.ID)
	if rep.Event.Kind != abi.KindQRLimit || rep.Event.Code != 428 || rep.Phase != abi.PhaseQR ||
		!strings.Contains(rep.Event.Message, "30s") {
		t.Errorf("report = %+v, want qr_limit 428 in phase qr, naming the timeout", rep)
	}
	waitDone(t, conn)
}

// TestPairing plays the phone scanning the first QR code: the instance
// is paired, restarts when the server asks (the recorder reconnects, as
// the executor would after the policy's decision) and logs in.
func TestPairing(t *testing.T) {
	t.Parallel()
	env := sessiontest.New(t, sessiontest.Options{Manager: session.Config{Clock: clock.NewFake(epoch)}})
	inst, _ := env.Instance(t, "pair", storage.StatusClose, nil)
	reconnected := make(chan error, 1)
	env.Handler.OnCall = func(c sessiontest.Call) {
		if c.Method == sessiontest.Disconnect && c.Report.Event.Kind == abi.KindRestartRequired {
			go func() { reconnected <- env.Manager.Connect(context.Background(), inst.ID) }()
		}
	}
	if err := env.Manager.Connect(context.Background(), inst.ID); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	qr := env.Handler.Wait(t, inst.ID, sessiontest.QR, 1)
	first := wafaketest.Accept(t, env.Server)
	ctx, cancel := context.WithTimeout(context.Background(), sessiontest.Timeout)
	defer cancel()
	jid, err := first.Pair(ctx, wafake.NewPhone("15550009999"), qr.QR.Code)
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	if got := env.Handler.Wait(t, inst.ID, sessiontest.Paired, 1).JID; got != jid.String() {
		t.Errorf("HandlePaired JID = %s, want %s", got, jid)
	}
	if err := wafake.StreamError("515")(ctx, first); err != nil {
		t.Fatalf("sending 515: %v", err)
	}
	rep := env.Handler.Report(t, inst.ID)
	if rep.Event.Kind != abi.KindRestartRequired || rep.Phase != abi.PhaseConnecting {
		t.Errorf("report = %+v, want restart_required in phase connecting", rep)
	}
	if err := <-reconnected; err != nil {
		t.Fatalf("reconnecting: %v", err)
	}
	opened := env.Handler.Wait(t, inst.ID, sessiontest.Connected, 1).Opened
	if opened.JID != jid.String() {
		t.Errorf("HandleConnected JID = %s, want %s", opened.JID, jid)
	}
	second := wafaketest.Accept(t, env.Server)
	if second.DeviceJID() != jid {
		t.Errorf("second connection logs in as %v, want %v", second.DeviceJID(), jid)
	}
	wafaketest.WaitScript(t, second)
	if st := env.Manager.State(inst.ID); st.Phase != abi.PhaseOpen || !st.Connected || st.JID != jid.String() {
		t.Errorf("State() = %+v, want open as %s", st, jid)
	}
	waitDone(t, first)
}

// TestPairPhone checks phone-code pairing up to the code: the client asks
// the server for a pairing ref and returns the code to type.
func TestPairPhone(t *testing.T) {
	t.Parallel()
	asked := make(chan string, 1)
	answerPairing := func(ctx context.Context, c *wafake.Conn) error {
		c.HandleIQ("md", func(req *waBinary.Node) *waBinary.Node {
			reg, ok := req.GetOptionalChildByTag("link_code_companion_reg")
			if !ok {
				resp := wafake.ResultNode(req)
				return &resp
			}
			asked <- reg.AttrGetter().JID("jid").String()
			resp := wafake.ResultNode(req, waBinary.Node{Tag: "link_code_companion_reg", Content: []waBinary.Node{
				{Tag: "link_code_pairing_ref", Content: []byte("wafake-ref")},
			}})
			return &resp
		})
		return wafake.ShowQR()(ctx, c)
	}
	env := sessiontest.New(t, sessiontest.Options{
		Server:  wafake.Config{Script: answerPairing},
		Manager: session.Config{Clock: clock.NewFake(epoch)},
	})
	inst, _ := env.Instance(t, "phone", storage.StatusClose, nil)
	ctx := context.Background()

	if _, err := env.Manager.PairPhone(ctx, inst.ID, "123"); !errors.Is(err, whatsmeow.ErrPhoneNumberTooShort) {
		t.Errorf("PairPhone with a short number: %v, want ErrPhoneNumberTooShort", err)
	}
	code, err := env.Manager.PairPhone(ctx, inst.ID, "+1 (555) 000-1234")
	if err != nil {
		t.Fatalf("PairPhone: %v", err)
	}
	if !regexp.MustCompile(`^[1-9A-Z]{4}-[1-9A-Z]{4}$`).MatchString(code) {
		t.Errorf("pairing code %q, want XXXX-XXXX", code)
	}
	if jid := <-asked; jid != "15550001234@s.whatsapp.net" {
		t.Errorf("the server was asked to pair %s", jid)
	}
	if st := env.Manager.State(inst.ID); st.Phase != abi.PhasePairing {
		t.Errorf("State() = %+v, want phase pairing", st)
	}
	if n := env.Server.Accepts(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}

	paired, _ := env.Instance(t, "paired", storage.StatusClose, wafake.NewPhone("15550002222"))
	if _, err := env.Manager.PairPhone(ctx, paired.ID, "15550002222"); !errors.Is(err, session.ErrPaired) {
		t.Errorf("PairPhone of a paired instance: %v, want ErrPaired", err)
	}
}

package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/abi"
)

// TestClassify covers the event mapping without a connection, including
// the values the fake server does not produce.
func TestClassify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		evt  any
		kind abi.Kind
		code int
	}{
		{&events.Disconnected{}, abi.KindDisconnected, 428},
		{&events.StreamReplaced{}, abi.KindStreamReplaced, 440},
		{&events.LoggedOut{Reason: events.ConnectFailureUnknownLogout}, abi.KindLoggedOut, 406},
		{&events.LoggedOut{}, abi.KindLoggedOut, 401},
		{&events.TemporaryBan{Code: events.TempBanBlockedByUsers}, abi.KindTemporaryBan, 402},
		{&events.ConnectFailure{Reason: events.ConnectFailureNotFound}, abi.KindConnectFailure, 415},
		{&events.ClientOutdated{}, abi.KindClientOutdated, 405},
		{&events.StreamError{Code: "409"}, abi.KindStreamError, 409},
		{&events.StreamError{Code: "bogus"}, abi.KindStreamError, 500},
		{&events.KeepAliveTimeout{ErrorCount: 3, LastSuccess: time.Now().Add(-time.Minute)}, abi.KindKeepAliveTimeout, 408},
		{&events.CATRefreshError{Error: errors.New("no")}, abi.KindCATRefreshError, 413},
		{&events.QRScannedWithoutMultidevice{}, abi.KindMultideviceMismatch, 411},
		{&events.ManualLoginReconnect{}, abi.KindRestartRequired, 515},
		{&events.PairError{Error: errors.New("hmac mismatch")}, abi.KindPairError, 500},
	}
	for _, tc := range cases {
		ev, ok := classify(tc.evt)
		if !ok || ev.Kind != tc.kind || ev.Code != tc.code || ev.Cause != abi.CauseNone || ev.Raw == "" || ev.Message == "" {
			t.Errorf("classify(%T) = %+v, %v; want %s %d with raw and message", tc.evt, ev, ok, tc.kind, tc.code)
		}
	}
	for _, evt := range []any{&events.Connected{}, &events.QR{}, &events.PairSuccess{}, &events.KeepAliveRestored{}, nil} {
		if ev, ok := classify(evt); ok {
			t.Errorf("classify(%T) = %+v, want no drop", evt, ev)
		}
	}
	if ev, _ := classify(&events.TemporaryBan{Code: 101, Expire: 90 * time.Second}); ev.BanCode != 101 || ev.ExpireMS != 90000 {
		t.Errorf("temporary ban = %+v, want ban code 101, 90000 ms", ev)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

// TestConnectError covers the causes of a failed connect.
func TestConnectError(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("failed to dial whatsapp web websocket: %w", err) }
	cases := []struct {
		err   error
		cause abi.Cause
		code  int
	}{
		{wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "web.whatsapp.com", IsNotFound: true}}), abi.CauseDNS, 408},
		{wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), abi.CauseRefused, 408},
		{wrap(context.DeadlineExceeded), abi.CauseTimeout, 408},
		{wrap(timeoutErr{}), abi.CauseTimeout, 408},
		{wrap(syscall.ETIMEDOUT), abi.CauseTimeout, 408},
		{wrap(socket.ErrWithStatusCode{StatusCode: 429}), abi.CauseHTTPStatus, 429},
		{fmt.Errorf("noise handshake failed: %w", errors.New("timed out waiting for handshake response")), abi.CauseHandshake, 408},
		{errors.New("something else"), abi.CauseNone, 408},
	}
	for _, tc := range cases {
		ev := connectError(tc.err)
		if ev.Kind != abi.KindConnectError || ev.Cause != tc.cause || ev.Code != tc.code || ev.Raw != tc.err.Error() || ev.Message == "" {
			t.Errorf("connectError(%v) = %+v, want cause %s, code %d", tc.err, ev, tc.cause, tc.code)
		}
	}
}

// TestHints checks what the log adapter picks out of whatsmeow's log.
func TestHints(t *testing.T) {
	t.Parallel()
	h := new(hints)
	gone := h.arm()
	root := newWALogger(slog.New(slog.DiscardHandler), "Client", h)
	sock := root.Sub("Socket")
	readErr := errors.New("failed to get reader: EOF")
	sock.Errorf("Error reading from websocket: %v", readErr)
	root.Warnf(logSilentFailure, 503, "")
	root.Warnf(logStream503)
	root.Errorf("unrelated: %v", errors.New("not from the socket"))
	gotErr, failure, s503 := h.take()
	if gotErr != readErr || failure != 503 || !s503 {
		t.Errorf("hints = %v, %d, %v; want the read error, 503, true", gotErr, failure, s503)
	}
	if gotErr, failure, s503 = h.take(); gotErr != nil || failure != 0 || s503 {
		t.Error("take did not clear the hints")
	}
	select {
	case <-gone:
		t.Fatal("gone closed early")
	default:
	}
	root.Debugf("OnDisconnect() called, but it was expected, so not emitting event")
	root.Debugf("Emitting Disconnected event") // a second close message is harmless
	select {
	case <-gone:
	default:
		t.Error("gone still open after whatsmeow's close message")
	}
}

// TestClip checks that texts are cut at a rune boundary and made valid.
func TestClip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxText)
	got := clip(long)
	if len(got) > maxText || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("clip of %d bytes: %d bytes, valid %v", len(long), len(got), utf8.ValidString(got))
	}
	if got := clip("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("clip(invalid) = %q", got)
	}
	if got := clip("short"); got != "short" {
		t.Errorf("clip(short) = %q", got)
	}
}

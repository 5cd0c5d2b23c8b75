package wafake_test

import (
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestLoginOutcomes connects the real whatsmeow client with a linked
// device and checks the event each server behaviour produces.
func TestLoginOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		script wafake.Script
		check  func(t *testing.T, rec *wafaketest.Recorder)
	}{
		{
			name:   "success",
			script: wafake.Success(),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				wafaketest.Wait[*events.Connected](t, rec)
			},
		},
		{
			name:   "temporary ban",
			script: wafake.TemporaryBan(101, 36*time.Hour),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				got := wafaketest.Wait[*events.TemporaryBan](t, rec)
				if got.Code != events.TempBanSentToTooManyPeople || got.Expire != 36*time.Hour {
					t.Errorf("TemporaryBan = %+v, want code 101, expire 36h", got)
				}
			},
		},
		{
			name:   "failure 401 logged out",
			script: wafake.Failure(401, nil),
			check:  wantLoggedOut(true, events.ConnectFailureLoggedOut),
		},
		{
			name:   "failure 403 main device gone",
			script: wafake.Failure(403, waBinary.Attrs{"logout_message_header": "locked"}),
			check:  wantLoggedOut(true, events.ConnectFailureMainDeviceGone),
		},
		{
			name:   "failure 406 banned",
			script: wafake.Failure(406, nil),
			check:  wantLoggedOut(true, events.ConnectFailureUnknownLogout),
		},
		{
			name:   "failure 405 client outdated",
			script: wafake.Failure(405, nil),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				wafaketest.Wait[*events.ClientOutdated](t, rec)
			},
		},
		{
			name:   "failure 409 connect failure",
			script: wafake.Failure(409, waBinary.Attrs{"message": "bad user agent"}),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				got := wafaketest.Wait[*events.ConnectFailure](t, rec)
				if got.Reason != events.ConnectFailureBadUserAgent || got.Message != "bad user agent" {
					t.Errorf("ConnectFailure = %+v, want reason 409 with message", got)
				}
			},
		},
		{
			name:   "failure 503 disconnects",
			script: wafake.Failure(503, nil),
			check:  wantDisconnected,
		},
		{
			name:   "failure 413 without token refresh",
			script: wafake.Failure(413, nil),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				wafaketest.Wait[*events.CATRefreshError](t, rec)
			},
		},
		{
			name:   "stream error 515 restart",
			script: wafake.StreamError("515"),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				wafaketest.Wait[*events.ManualLoginReconnect](t, rec)
				wafaketest.Wait[*events.Disconnected](t, rec)
			},
		},
		{
			name:   "stream error 500 after login",
			script: wafake.Steps(wafake.Success(), wafake.StreamError("500")),
			check:  wantStreamError("500"),
		},
		{
			name:   "bare stream error 401",
			script: wafake.StreamError("401"),
			check:  wantStreamError("401"),
		},
		{
			name:   "stream error 503",
			script: wafake.Steps(wafake.Success(), wafake.StreamError("503")),
			check:  wantDisconnected,
		},
		{
			name:   "stream replaced",
			script: wafake.Steps(wafake.Success(), wafake.StreamReplaced()),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				wafaketest.Wait[*events.StreamReplaced](t, rec)
			},
		},
		{
			name:   "device removed",
			script: wafake.Steps(wafake.Success(), wafake.DeviceRemoved()),
			check:  wantLoggedOut(false, events.ConnectFailureLoggedOut),
		},
		{
			name:   "dropped after login",
			script: wafake.Steps(wafake.Success(), wafake.Drop()),
			check: func(t *testing.T, rec *wafaketest.Recorder) {
				wafaketest.Wait[*events.Connected](t, rec)
				wafaketest.Wait[*events.Disconnected](t, rec)
			},
		},
		{
			name:   "closed before login",
			script: wafake.Close(),
			check:  wantDisconnected,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := wafaketest.NewServer(t, wafake.Config{Script: tc.script})
			dev := wafaketest.LinkedDevice(t, wafake.NewPhone("15550001234"))
			cli, rec := wafaketest.NewClient(t, dev, srv)
			if err := cli.Connect(); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			tc.check(t, rec)
			wafaketest.WaitScript(t, wafaketest.Accept(t, srv))
		})
	}
}

func wantLoggedOut(onConnect bool, reason events.ConnectFailureReason) func(*testing.T, *wafaketest.Recorder) {
	return func(t *testing.T, rec *wafaketest.Recorder) {
		got := wafaketest.Wait[*events.LoggedOut](t, rec)
		if got.OnConnect != onConnect || got.Reason != reason {
			t.Errorf("LoggedOut = %+v, want OnConnect %v, Reason %d", got, onConnect, reason)
		}
	}
}

func wantStreamError(code string) func(*testing.T, *wafaketest.Recorder) {
	return func(t *testing.T, rec *wafaketest.Recorder) {
		got := wafaketest.Wait[*events.StreamError](t, rec)
		if got.Code != code {
			t.Errorf("StreamError.Code = %q, want %q", got.Code, code)
		}
		wafaketest.Wait[*events.Disconnected](t, rec)
	}
}

func wantDisconnected(t *testing.T, rec *wafaketest.Recorder) {
	wafaketest.Wait[*events.Disconnected](t, rec)
}

package session_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/proxy/proxytest"
	"github.com/wahost/wahost/host/session"
	"github.com/wahost/wahost/host/session/sessiontest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/storage"
)

// fixedProxy picks one proxy for every instance and records outcomes.
type fixedProxy struct {
	ep proxy.Endpoint

	mu       sync.Mutex // guards outcomes
	outcomes []error
}

func (f *fixedProxy) Pick(context.Context, string) (proxy.Endpoint, error) { return f.ep, nil }

func (f *fixedProxy) Outcome(p proxy.Endpoint, _ string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p != f.ep {
		panic("outcome of another proxy")
	}
	f.outcomes = append(f.outcomes, err)
}

func (f *fixedProxy) Forget(string) {}

// TestConnectThroughProxy logs in through real HTTP CONNECT and SOCKS5
// proxies, with and without credentials: killing the proxy drops the
// session (the tunnel carried it), and a wrong password fails the
// connect with cause proxy_auth and a message naming the proxy, masked.
func TestConnectThroughProxy(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{proxytest.HTTP, proxytest.SOCKS5} {
		for _, auth := range []bool{false, true} {
			name := kind + map[bool]string{false: "/open", true: "/credentials"}[auth]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				user, pass := "", ""
				if auth {
					user, pass = "alice", "Pr0xy-Secret"
				}
				srv := proxytest.Start(t, kind, user, pass)
				pick := &fixedProxy{ep: proxy.MustParse(srv.URL())}
				env := sessiontest.New(t, sessiontest.Options{Manager: session.Config{Proxies: pick}})
				ctx := context.Background()
				inst, _ := env.Instance(t, "proxied", storage.StatusOpen, wafake.NewPhone("15550002001"))
				connectOpen(t, env, inst.ID, 1)
				if got := env.Manager.State(inst.ID).Proxy; got != pick.ep.ID() {
					t.Fatalf("State.Proxy = %q, want %q", got, pick.ep.ID())
				}
				srv.Stop()
				rep := env.Handler.Report(t, inst.ID)
				if rep.Event.Kind != abi.KindDisconnected || rep.Proxy != pick.ep.ID() {
					t.Fatalf("after the proxy died: %+v, want a disconnect through %s", rep, pick.ep.ID())
				}
				pick.mu.Lock()
				if len(pick.outcomes) != 1 || pick.outcomes[0] != nil {
					t.Errorf("outcomes %v, want one success", pick.outcomes)
				}
				pick.mu.Unlock()
				if !auth {
					return
				}
				if err := srv.Start(); err != nil {
					t.Fatal(err)
				}
				pick.ep = proxy.MustParse(srv.URLWith(user, "wrong-password"))
				env.Manager.Connect(ctx, inst.ID)
				rep = env.Handler.Wait(t, inst.ID, sessiontest.Disconnect, 2).Report
				ev := rep.Event
				if ev.Kind != abi.KindConnectError || ev.Cause != abi.CauseProxyAuth ||
					!strings.Contains(ev.Message, "the proxy refused the credentials") ||
					strings.Contains(ev.Message+ev.Raw, "wrong-password") {
					t.Fatalf("wrong password: %+v, want connect_error proxy_auth without the password", ev)
				}
			})
		}
	}
}

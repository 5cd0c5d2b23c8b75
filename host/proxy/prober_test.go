package proxy_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/proxy"
)

// TestProberBringsBackAProxy checks that the prober holds no timer while
// every proxy is up, and probes a down one until it answers.
func TestProberBringsBackAProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ep := proxy.MustParse("socks5://" + ln.Addr().String())
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	h := proxy.NewHealth(proxy.Breaker{Failures: 1, CoolDown: 5 * time.Second, ProbeInterval: 5 * time.Second}, clk)
	p := proxy.NewProber(h, nil)
	ctx := context.Background()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(ctx)
	if n := clk.Timers(); n != 0 {
		t.Fatalf("%d timers while every proxy is up", n)
	}
	h.Record(ep, "i", errRefused)
	if !h.Down(ep) {
		t.Fatal("not down")
	}
	select {
	case <-clk.WaitForTimers(1):
	case <-time.After(10 * time.Second):
		t.Fatal("the prober did not wake up")
	}
	clk.Advance(5 * time.Second)
	deadline := time.After(10 * time.Second)
	for h.Down(ep) {
		select {
		case <-clk.WaitForTimers(1):
			clk.Advance(5 * time.Second)
		case <-time.After(50 * time.Millisecond):
			// A probe in flight makes no new timer: look again.
		case <-deadline:
			t.Fatal("the proxy was not probed back")
		}
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal("second Stop:", err)
	}
}

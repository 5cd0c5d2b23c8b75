package proxy_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/proxy"
)

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func TestPoolsBreaker(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aAddr := ln.Addr().String()
	ln.Close() // A is dead until it listens again
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	health := proxy.NewHealth(proxy.Breaker{Failures: 2, Window: time.Minute, CoolDown: 30 * time.Second, ProbeInterval: 10 * time.Second}, clk)
	pools, err := proxy.NewPools(proxy.PoolsConfig{
		Pools:   map[string][]string{"main": {"http://u:secret@" + aAddr, "socks5://127.0.0.1:1"}},
		Default: "main", Health: health,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b := proxy.MustParse("http://u:secret@"+aAddr), proxy.MustParse("socks5://127.0.0.1:1")
	pick := func(id string) proxy.Endpoint {
		t.Helper()
		ep, err := pools.Pick(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return ep
	}
	if p1, p2, p3 := pick("i1"), pick("i2"), pick("i3"); p1 != a || p2 != b || p3 != a {
		t.Fatalf("first picks %v %v %v, want spread A B A", p1, p2, p3)
	}
	pools.Outcome(a, "i1", errRefused)
	if health.Down(a) || pick("i1") != a {
		t.Fatal("one instance's failure marked the proxy down or moved it")
	}
	if v, _ := pools.View(ctx, "i1"); v.Size != 2 || v.Healthy != 2 || v.Failures != 1 || v.PoolFailures != 1 || v.ID != a.ID() {
		t.Fatalf("view %+v", v)
	}
	pools.Outcome(a, "i3", errRefused)
	if !health.Down(a) {
		t.Fatal("two instances' failures did not mark A down")
	}
	if pick("i1") != b || pick("i3") != b {
		t.Fatal("the sessions of a down proxy did not move")
	}
	st := pools.Statuses()
	if len(st) != 2 || !st[0].Down && !st[1].Down || st[0].Pool != "main" {
		t.Fatalf("statuses %+v", st)
	}
	for _, s := range st {
		if s.ID == a.ID() && (s.Proxy != "http://u:***@"+aAddr || s.ByCause["refused"] != 2) {
			t.Fatalf("status of A %+v", s)
		}
	}
	if back := health.Probe(ctx); back != nil {
		t.Fatalf("probed during the cool-down: %v", back)
	}
	clk.Advance(30 * time.Second)
	if back := health.Probe(ctx); back != nil || !health.Down(a) {
		t.Fatalf("a dead proxy came back: %v", back)
	}
	ln, err = net.Listen("tcp", aAddr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", aAddr, err)
	}
	defer ln.Close()
	if back := health.Probe(ctx); back != nil {
		t.Fatalf("probed before the probe interval: %v", back)
	}
	clk.Advance(10 * time.Second)
	if back := health.Probe(ctx); len(back) != 1 || back[0] != a.ID() || health.Down(a) {
		t.Fatalf("restarted proxy not back: %v", back)
	}
	if pick("i1") != b {
		t.Fatal("i1 left B, which is up")
	}
}

func TestPoolsAllDownStays(t *testing.T) {
	health := proxy.NewHealth(proxy.Breaker{Failures: 1}, clock.NewFake(time.Unix(0, 0)))
	pools, err := proxy.NewPools(proxy.PoolsConfig{
		Pools: map[string][]string{"p": {"http://127.0.0.1:1", "http://127.0.0.1:2"}}, Default: "p", Health: health,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, _ := pools.Pick(ctx, "i")
	for _, raw := range []string{"http://127.0.0.1:1", "http://127.0.0.1:2"} {
		pools.Outcome(proxy.MustParse(raw), "x", errors.New("boom"))
	}
	if again, _ := pools.Pick(ctx, "i"); again != first {
		t.Fatalf("moved with every proxy down: %v, was %v", again, first)
	}
}

func TestPoolsConfigErrors(t *testing.T) {
	for name, cfg := range map[string]proxy.PoolsConfig{
		"bad url":         {Pools: map[string][]string{"p": {"ftp://u:pw@h:1"}}},
		"empty pool":      {Pools: map[string][]string{"p": {}}},
		"unknown default": {Default: "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := proxy.NewPools(cfg); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestPoolsSettingUnreadable: while the store cannot be read, an instance
// keeps the proxy setting last read for it (a reconnect during a database
// outage must not fail for want of it); one never read is an error.
func TestPoolsSettingUnreadable(t *testing.T) {
	ctx := context.Background()
	errStore := errors.New("storage unavailable")
	var down bool
	pools, err := proxy.NewPools(proxy.PoolsConfig{
		Pools: map[string][]string{"main": {"socks5://127.0.0.1:1"}},
		Setting: func(_ context.Context, id string) (string, error) {
			if down {
				return "", errStore
			}
			return map[string]string{"a": "main", "b": ""}[id], nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := pools.Pick(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	down = true
	cases := []struct {
		id   string
		want proxy.Endpoint
		err  bool
	}{
		{"a", proxy.MustParse("socks5://127.0.0.1:1"), false},
		{"b", proxy.Endpoint{}, false},
		{"never-read", proxy.Endpoint{}, true},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			ep, err := pools.Pick(ctx, c.id)
			if (err != nil) != c.err || !errors.Is(err, errStore) && c.err || ep != c.want {
				t.Fatalf("Pick(%s) = %v, %v; want %v, error %t", c.id, ep, err, c.want, c.err)
			}
		})
	}
}

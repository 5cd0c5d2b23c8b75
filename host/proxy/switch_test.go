package proxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/proxy"
)

func threePools(t *testing.T, breaker proxy.Breaker) (*proxy.Pools, *proxy.Health, []proxy.Endpoint) {
	t.Helper()
	urls := []string{"http://127.0.0.1:1", "http://u:pw@127.0.0.1:2", "socks5://127.0.0.1:3"}
	health := proxy.NewHealth(breaker, clock.NewFake(time.Unix(1_700_000_000, 0)))
	pools, err := proxy.NewPools(proxy.PoolsConfig{Pools: map[string][]string{"p": urls}, Default: "p", Health: health})
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]proxy.Endpoint, len(urls))
	for i, u := range urls {
		eps[i] = proxy.MustParse(u)
	}
	return pools, health, eps
}

func TestPoolsSwitch(t *testing.T) {
	ctx := context.Background()
	pools, _, eps := threePools(t, proxy.Breaker{Failures: 1})
	if ep, _ := pools.Pick(ctx, "i"); ep != eps[0] {
		t.Fatalf("first pick %v", ep)
	}
	from, next, err := pools.Switch("i", "", "")
	if err != nil || from != eps[0] || next != eps[1] {
		t.Fatalf("switch to the next: %v → %v, %v", from, next, err)
	}
	if ep, _ := pools.Pick(ctx, "i"); ep != eps[1] {
		t.Fatalf("the connect after a switch picked %v, want %v", ep, eps[1])
	}
	// A named member is taken; a down one, or one of no pool, is not.
	if _, next, _ := pools.Switch("i", "", eps[2].ID()); next != eps[2] {
		t.Fatalf("switch to %s went to %v", eps[2].ID(), next)
	}
	pools.Outcome(eps[0], "x", errRefused) // breaker of one: down
	if _, next, _ := pools.Switch("i", "p", eps[0].ID()); next != eps[1] {
		t.Fatalf("switch to a down member went to %v, want the next healthy %v", next, eps[1])
	}
	if _, next, _ := pools.Switch("i", "", "http://10.9.9.9:1"); next != eps[2] {
		t.Fatalf("switch to a stranger went to %v, want the next healthy %v", next, eps[2])
	}
	// With no other healthy member it stays.
	pools.Outcome(eps[1], "x", errRefused)
	if from, next, _ := pools.Switch("i", "", ""); from != eps[2] || next != eps[2] {
		t.Fatalf("switch with no other healthy one: %v → %v", from, next)
	}
	if v, _ := pools.ViewSetting("i", ""); v.ID != eps[2].ID() || v.Size != 3 || v.Healthy != 1 {
		t.Fatalf("view after the switches %+v", v)
	}
	// A fixed URL and a direct connection have nothing to switch.
	if from, next, _ := pools.Switch("i", "http://127.0.0.1:9", ""); from != next {
		t.Fatalf("a fixed URL switched: %v → %v", from, next)
	}
}

// TestPoolsForget: a deleted instance leaves the pool's state: it holds
// no proxy, is no proxy's session, and does not weigh on the least used.
func TestPoolsForget(t *testing.T) {
	ctx := context.Background()
	pools, _, eps := threePools(t, proxy.Breaker{})
	for _, id := range []string{"a", "b", "c"} {
		ep, _ := pools.Pick(ctx, id)
		pools.Outcome(ep, id, nil)
	}
	sessions := func() map[string]int {
		out := map[string]int{}
		for _, s := range pools.Statuses() {
			out[s.ID] = s.Sessions
		}
		return out
	}
	if s := sessions(); s[eps[0].ID()] != 1 || s[eps[1].ID()] != 1 || s[eps[2].ID()] != 1 {
		t.Fatalf("sessions before %v", s)
	}
	pools.Forget("b")
	if s := sessions(); s[eps[1].ID()] != 0 || s[eps[0].ID()] != 1 {
		t.Fatalf("sessions after forgetting b: %v", s)
	}
	// b's proxy is now the least used: a new instance gets it, and b,
	// were it created again, starts afresh like any new one.
	if ep, _ := pools.Pick(ctx, "d"); ep != eps[1] {
		t.Fatalf("new instance picked %v, want the freed %v", ep, eps[1])
	}
	if ep, _ := pools.Pick(ctx, "b"); ep != eps[0] {
		t.Fatalf("re-created b picked %v, want the least used %v", ep, eps[0])
	}
}

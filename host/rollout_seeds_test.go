package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/host/webhook"
)

// coolDown is the rate limit of the fake server the seeded rollouts run
// on: a login within 17 s of a 503 is refused with a 503 of its own,
// which starts the cool-down again. The default policy waits 10 to 12 s
// after a 503 (10 s plus up to 20 % jitter): its first attempt is
// refused, its second, 20 to 24 s later, comes back. A policy that
// retries after 1, 2, 4, 8 and 16 s is refused every time and gives up.
var coolDown = wafake.RateLimit{Cooldown: 17 * time.Second, After: []string{"503"}}

// seededRollout is a rollout of the canary settings over steps of 50 and
// 100 % of 5 minutes, judged every minute once each side has 10 episodes.
func seededRollout(settings map[string]any) map[string]any {
	return map[string]any{
		"policy.rollout.module": "builtin:default", "policy.rollout.settings": settings,
		"policy.rollout.steps": []any{50, 100}, "policy.rollout.min_episodes": 10,
		"policy.rollout.step_duration": "5m", "policy.rollout.check_interval": "1m",
	}
}

// seededWorld is a host with a fleet of instances on the rate-limiting
// fake server, dropped in rounds with codes drawn from a seeded source.
type seededWorld struct {
	*world
	rng   *rand.Rand
	names []string
	jids  map[string]types.JID
	ended map[string]bool // instances a decision ended for good
}

// newSeededWorld starts a host with flags and pairs instances until five
// are in the canary's first share (percent) and five outside it.
func newSeededWorld(t *testing.T, seed uint64, flags map[string]any, share float64) *seededWorld {
	clk := clock.NewFake(time.Now())
	w := &world{srv: wafaketest.NewServer(t, wafake.Config{Now: clk.Now}), clk: clk, hooks: newReceiver(t, ""), timers: 1}
	all := map[string]any{"webhook.url": w.hooks.URL}
	for k, v := range flags {
		all[k] = v
	}
	w.testHost = startWith(t, w.srv, "", all, clk, nil)
	s := &seededWorld{world: w, rng: rand.New(rand.NewPCG(seed, 19)), jids: map[string]types.JID{}, ended: map[string]bool{}}
	canary, stable := w.fleet(share, 5, 5)
	for _, m := range []map[string]*wafake.Conn{canary, stable} {
		for name, c := range m {
			s.names = append(s.names, name)
			s.jids[name] = c.DeviceJID()
		}
	}
	sort.Strings(s.names)
	w.srv.SetRateLimit(coolDown) // after the pairings, whose restart comes at once
	return s
}

// mixedDrops are a dropped connection (428), a 503 and a 515.
var mixedDrops = []wafake.Script{wafake.Drop(), wafake.StreamError("503"), wafake.StreamError("515")}

// round drops every live instance with one of drops, drawn from the
// seed, and lets every instance come back or end.
func (s *seededWorld) round(drops []wafake.Script) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	mark := len(s.hooksGot())
	var dropped []string
	for _, name := range s.names {
		if s.ended[name] {
			continue
		}
		c := s.srv.LoggedIn(s.jids[name])
		if c == nil {
			s.t.Fatalf("%s is not logged in", name)
		}
		<-c.ScriptDone()
		if err := drops[s.rng.IntN(len(drops))](ctx, c); err != nil {
			s.t.Logf("drop %s: %v", name, err)
		}
		dropped = append(dropped, name)
	}
	var out []string
	for _, name := range dropped {
		_, env := s.hooks.awaitFrom(mark, "disconnect.decided of "+name, func(e webhook.Envelope) bool {
			return e.Event == "disconnect.decided" && e.Instance == name
		})
		if _, _, d := decided(env); d["action"] != "reconnect" {
			s.ended[name] = true // history_abort: the fifth drop with one code in a day
			continue
		}
		out = append(out, name)
	}
	s.settle(out)
}

// settle moves the fake clock from one pending reconnect to the next,
// waiting at each for the outcome of every reconnect that fired (open
// again, or refused and decided again), until none is pending.
func (s *seededWorld) settle(names []string) {
	s.t.Helper()
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	for len(out) > 0 {
		due := map[string]time.Time{}
		for name := range out {
			_, diag := s.call("GET", "/v1/instances/"+name+"/diagnostics", nil)
			p, _ := diag["pending_reconnect"].(map[string]any)
			if p == nil {
				s.t.Fatalf("%s is out with no pending reconnect: %v", name, diag)
			}
			at, err := time.Parse(time.RFC3339Nano, p["due"].(string))
			if err != nil {
				s.t.Fatal(err)
			}
			due[name] = at
		}
		// The scheduler arms one timer for its earliest job; a job
		// scheduled after the clock passed its due time runs at once.
		select {
		case <-s.clk.WaitForTimers(1 + s.timers):
		case <-time.After(30 * time.Second):
			s.t.Fatalf("%d reconnects pending, %d timers armed", len(due), s.clk.Timers())
		}
		earliest := time.Time{}
		for _, at := range due {
			if earliest.IsZero() || at.Before(earliest) {
				earliest = at
			}
		}
		mark := len(s.hooksGot())
		if d := earliest.Sub(s.clk.Now()); d > 0 {
			s.clk.Advance(d)
		}
		for name, at := range due {
			if at.After(s.clk.Now()) {
				continue
			}
			_, env := s.hooks.awaitFrom(mark, "the outcome of "+name+"'s reconnect", func(e webhook.Envelope) bool {
				return e.Instance == name && (e.Event == "reconnection.success" || e.Event == "disconnect.decided")
			})
			switch _, _, d := decided(env); {
			case env.Event == "reconnection.success":
				delete(out, name)
			case d["action"] != "reconnect":
				s.ended[name] = true
				delete(out, name)
			}
		}
	}
}

// finish runs the rollout's checks a minute apart until it is no longer
// running, and returns its state.
func (s *seededWorld) finish() map[string]any {
	return s.checkUntil(time.Minute, func(st map[string]any) bool { return st["status"] != rollout.StatusRunning })
}

// verdictLine summarises a rollout's state for the log.
func verdictLine(st map[string]any) string {
	var v rollout.Verdict
	if raw, err := json.Marshal(st["verdict"]); err == nil {
		_ = json.Unmarshal(raw, &v)
	}
	var tests []string
	for _, t := range v.Tests {
		tests = append(tests, fmt.Sprintf("%s p=%.3f", t.Measure, t.P))
	}
	return fmt.Sprintf("%s at step %v; canary %d episodes, %d recovered, p50 %.1f s; stable %d, %d, p50 %.1f s; %s",
		st["status"], st["step"], v.Canary.Episodes, v.Canary.Recovered, v.Canary.P50Seconds,
		v.Stable.Episodes, v.Stable.Recovered, v.Stable.P50Seconds, strings.Join(tests, ", "))
}

// How many seeded rollouts each check runs: twenty to see whether the
// configured confidence holds, five to see a worse canary caught every
// time (each seed costs a few seconds of CPU under the race detector).
const (
	seeds      = 20
	worseSeeds = 5
)

// TestRolloutEqualCanaryAcrossSeeds: a canary that is the stable policy
// under another digest (the default jitter written out) is rolled out on
// the rate-limiting server with 20 seeds, each dropping the fleet three
// times with its own mix of codes. The configured confidence (95 %) holds
// if at most one of the 20 is rolled back.
func TestRolloutEqualCanaryAcrossSeeds(t *testing.T) {
	results := make([]string, seeds)
	runSeeds(t, seeds, func(t *testing.T, seed int) {
		s := newSeededWorld(t, uint64(seed), seededRollout(map[string]any{"jitter_pct": 20}), 50)
		for range 3 {
			s.round(mixedDrops)
			s.clk.Advance(40 * time.Second) // past the storm window
		}
		st := s.finish()
		results[seed] = fmt.Sprint(st["status"])
		t.Logf("seed %2d: %s (%d refused logins)", seed, verdictLine(st), s.srv.Refusals())
	})
	ran, rolledBack := 0, 0
	for seed, r := range results {
		if r != "" {
			ran++
		}
		switch r {
		case "": // not run (-run)
		case rollout.StatusPromoted:
		case rollout.StatusRolledBack:
			rolledBack++
		default:
			t.Errorf("seed %d ended %q", seed, r)
		}
	}
	t.Logf("equal canary: %d of %d seeds rolled back", rolledBack, ran)
	if rolledBack > 1 {
		t.Fatalf("%d false rollbacks in %d seeds, at most 1 allowed", rolledBack, ran)
	}
}

// runSeeds runs check for seeds 0 to n-1 as subtests, five at once
// whatever -parallel says: a seed spends most of its time waiting for
// sessions, webhooks and commits rather than computing.
func runSeeds(t *testing.T, n int, check func(t *testing.T, seed int)) {
	sem := make(chan struct{}, 5)
	var wg sync.WaitGroup
	for seed := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(fmt.Sprint(seed), func(t *testing.T) { check(t, seed) })
		}()
	}
	wg.Wait()
}

// TestRolloutWorseCanaryAcrossSeeds: WhatsApp sheds load with 503s. A
// canary that reconnects 1 s after a 503 meets the server's cool-down:
// refused again and again until the storm guard pauses it for a minute,
// where the stable policy is back in about 33 s. With every seed it is
// rolled back at its first step, on recovery time.
func TestRolloutWorseCanaryAcrossSeeds(t *testing.T) {
	fast := map[string]any{"delays_ms": map[string]any{"503": 1000}}
	runSeeds(t, worseSeeds, func(t *testing.T, seed int) {
		s := newSeededWorld(t, uint64(seed), seededRollout(fast), 50)
		for range 3 {
			s.round([]wafake.Script{wafake.StreamError("503")})
			s.clk.Advance(40 * time.Second)
		}
		st := s.finish()
		t.Logf("seed %2d: %s (%d refused logins)", seed, verdictLine(st), s.srv.Refusals())
		if st["status"] != rollout.StatusRolledBack || st["step"] != float64(0) {
			t.Fatalf("seed %d: %s, want rolled_back at the first step", seed, verdictLine(st))
		}
	})
}

//go:build wahost_testserver

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// faultInstances is how many paired instances the suite drives.
const faultInstances = 16

// TestFaults runs the built binary through the faults it must survive, one
// after another on the same instances and database, and after each
// accounts for every disconnect caused, decision, reconnect and webhook.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary through faults")
	}
	w := newFaultWorld(t)
	start := time.Now()
	w.pair(faultInstances)
	t.Logf("paired %d instances in %v", len(w.names), time.Since(start).Round(time.Millisecond))

	// Each scenario starts from the state the one before left: the first
	// failure ends the suite.
	for _, s := range []struct {
		name string
		run  func(*faultWorld)
	}{
		{"PostgreSQLCutMidStorm", faultPostgresCut},
		{"RedisCutDuringPurges", faultRedisCut},
		{"WebhookReceiverFails", faultReceiver500},
		{"WebhookReceiverHangs", faultReceiverHang},
		{"WebhookReceiverKilled", faultReceiverKilled},
		{"SIGTERMMidStorm", faultSIGTERM},
		{"SIGKILL", faultSIGKILL},
	} {
		if !t.Run(s.name, func(t *testing.T) { w.t = t; s.run(w) }) {
			return
		}
	}
}

// faultPostgresCut cuts PostgreSQL for 10 s in the middle of a storm.
func faultPostgresCut(w *faultWorld) {
	const outage = 10 * time.Second
	var cutAt time.Time
	w.storm(2*time.Second, func(i int) {
		if i == len(w.names)/2 {
			w.pg.Cut()
			cutAt = time.Now()
		}
	})
	// The sessions are still driven while the store is away: every
	// instance (each dropped less than 3 s before the cut at most, so
	// reconnecting after it) logs in again before it returns.
	w.waitFor("reconnects while PostgreSQL is away", time.Until(cutAt.Add(outage)), func() (bool, string) {
		n := 0
		for _, name := range w.names {
			if _, ok := w.loginAfter(name, cutAt); ok && w.srv.Online(w.devices[name]) {
				n++
			}
		}
		return n == len(w.names), fmt.Sprintf("%d of %d instances logged in again", n, len(w.names))
	})
	back := time.Since(cutAt)
	<-time.After(time.Until(cutAt.Add(outage)))
	w.pg.Restore()
	w.t.Logf("PostgreSQL away for %v; every instance was online again %v after the cut",
		time.Since(cutAt).Round(100*time.Millisecond), back.Round(100*time.Millisecond))
	w.settle("PostgreSQL cut for 10 s mid-storm")
}

// faultRedisCut cuts Redis while every reconnect decision purges the
// instance's cache (escalation step 2): the purges wait and are done once
// Redis is back; the keys are gone.
func faultRedisCut(w *faultWorld) {
	ctx := context.Background()
	ids := w.instanceIDs()
	for _, id := range ids {
		if err := w.cache.Set(ctx, id, "fault-marker", []byte("x"), time.Hour); err != nil {
			w.t.Fatal(err)
		}
	}
	w.redis.Cut()
	w.storm(time.Second, nil)
	w.waitFor("purges waiting for Redis", 30*time.Second, func() (bool, string) {
		var n int
		_ = w.db.QueryRow(`SELECT count(*) FROM wahost_pending_purges`).Scan(&n)
		return n == len(ids), fmt.Sprintf("%d pending purges", n)
	})
	var pending int
	_ = w.db.QueryRow(`SELECT count(*) FROM wahost_pending_purges`).Scan(&pending)
	w.redis.Restore()
	w.settle(fmt.Sprintf("Redis cut during purges (%d purges were waiting)", pending))
	kept := 0
	for _, id := range ids {
		if _, err := w.cache.Get(ctx, id, "fault-marker"); err == nil {
			kept++
		}
	}
	if kept > 0 {
		w.t.Fatalf("%d of %d instances' cache survived the purge", kept, len(w.names))
	}
}

// faultReceiver500 has the webhook receiver answer 500 during a storm.
func faultReceiver500(w *faultWorld) {
	w.receiverFault("webhook receiver answering 500", receiverFail, nil, nil)
}

// faultReceiverHang has the webhook receiver never answer during a storm.
func faultReceiverHang(w *faultWorld) {
	w.receiverFault("webhook receiver hanging", receiverHang, nil, nil)
}

// faultReceiverKilled closes the webhook receiver during a storm and
// starts it again on the same address.
func faultReceiverKilled(w *faultWorld) {
	w.receiverFault("webhook receiver killed", receiverOK, w.hooks.kill, w.hooks.revive)
}

// receiverFault runs a storm with the receiver in mode (after down), waits
// until every disconnect is recorded, then heals the receiver (mode OK,
// up) and settles.
func (w *faultWorld) receiverFault(scenario string, mode receiverMode, down, up func()) {
	_, before := w.hooks.snapshot()
	w.hooks.setMode(mode)
	if down != nil {
		down()
	}
	w.storm(time.Second, nil)
	w.waitFor(scenario+": disconnects recorded", 30*time.Second, func() (bool, string) {
		a := w.account()
		return a.recorded == a.dropped, a.String()
	})
	_, during := w.hooks.snapshot()
	if up != nil {
		up()
	}
	w.hooks.setMode(receiverOK)
	w.settle(fmt.Sprintf("%s (%d requests while it was)", scenario, during-before))
}

// faultSIGTERM stops the binary with SIGTERM in the middle of a storm and
// starts it again: every reconnect decided before the stop happens at its
// decided time, not at the restart, and nothing is decided twice.
func faultSIGTERM(w *faultWorld) {
	half := w.names[:len(w.names)/2]
	for _, name := range half {
		w.drop(name)
	}
	w.waitFor("half the storm recorded", 30*time.Second, func() (bool, string) {
		a := w.account()
		return a.recorded == a.dropped, a.String()
	})
	stopped := time.Now()
	w.stop(syscall.SIGTERM)
	due := map[string]time.Time{}
	rows, err := w.db.Query(`SELECT name, reconnect_due FROM wahost_instances WHERE reconnect_due IS NOT NULL`)
	if err != nil {
		w.t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var at time.Time
		if err := rows.Scan(&name, &at); err != nil {
			w.t.Fatal(err)
		}
		due[name] = at
	}
	if rows.Err() != nil {
		w.t.Fatal(rows.Err())
	}
	w.start()
	restarted := time.Now()
	a := w.settle("SIGTERM mid-storm, then restart")
	early, honoured := 0, 0
	for name, at := range due {
		login, ok := w.loginAfter(name, restarted)
		switch {
		case !ok:
			w.t.Fatalf("%s: no login after the restart", name)
		case login.Before(at):
			early++
			w.t.Errorf("%s: reconnected at %v, before its decided time %v", name, login.Format(time.StampMilli), at.Format(time.StampMilli))
		case at.After(restarted):
			honoured++
		}
	}
	w.t.Logf("SIGTERM: stopped in %v; %d reconnects pending at the stop, %d of them due after the restart and honoured, %d early; %d decisions in all",
		restarted.Sub(stopped).Round(time.Millisecond), len(due), honoured, early, a.decided)
	if len(due) == 0 {
		w.t.Fatal("no reconnect was pending at the stop: the scenario proves nothing")
	}
}

// faultSIGKILL kills the binary at random points of storms and restarts it.
// WAHOST_FAULTS_SEED replays a run; WAHOST_FAULTS_KILLS sets how many (10).
func faultSIGKILL(w *faultWorld) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("WAHOST_FAULTS_SEED"), 10, 64); err == nil {
		seed = s
	}
	kills := 10
	if n, err := strconv.Atoi(os.Getenv("WAHOST_FAULTS_KILLS")); err == nil && n > 0 {
		kills = n
	}
	w.t.Logf("SIGKILL: seed %d (WAHOST_FAULTS_SEED=%d replays it), %d kills", seed, seed, kills)
	rng := rand.New(rand.NewPCG(seed, seed))
	for k := range kills {
		at := rng.IntN(len(w.names) + 1)                          // drops before the kill
		extra := time.Duration(rng.IntN(1500)) * time.Millisecond // then this long
		for _, name := range w.names[:at] {
			w.drop(name)
		}
		<-time.After(extra)
		w.stop(syscall.SIGKILL)
		w.start()
		w.settle(fmt.Sprintf("SIGKILL %d of %d (after %d drops and %v), then restart", k+1, kills, at, extra), false)
	}
}

// instanceIDs returns the instances' ids: the cache is keyed by them.
func (w *faultWorld) instanceIDs() []string {
	rows, err := w.db.Query(`SELECT id::text FROM wahost_instances`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			w.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// online counts the instances with a live session on the fake server.
func (w *faultWorld) online() int {
	n := 0
	for _, name := range w.names {
		if w.srv.Online(w.devices[name]) {
			n++
		}
	}
	return n
}

// loginAfter returns the first login of name's device after t.
func (w *faultWorld) loginAfter(name string, t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, at := range w.logins[w.devices[name]] {
		if !at.Before(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

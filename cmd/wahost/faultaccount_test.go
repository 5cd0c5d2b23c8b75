//go:build wahost_testserver

package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiverMode is how the webhook receiver answers.
type receiverMode int

const (
	receiverOK   receiverMode = iota // 200
	receiverFail                     // 500
	receiverHang                     // never answers: the delivery times out
)

// faultReceiver is the webhook receiver. It can fail, hang or be killed
// (its listener closed) and started again on the same address.
type faultReceiver struct {
	t    *testing.T
	addr string

	mu       sync.Mutex // guards the fields below
	mode     receiverMode
	srv      *http.Server
	got      map[string]int // X-Wahost-Delivery → requests answered 200
	requests int            // every request, whatever the answer
	release  chan struct{}  // closed when a hang ends
}

func newFaultReceiver(t *testing.T) *faultReceiver {
	t.Helper()
	r := &faultReceiver{t: t, got: map[string]int{}, release: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	r.serve(l)
	t.Cleanup(func() { r.setMode(receiverOK); r.kill() })
	return r
}

func (r *faultReceiver) url() string { return "http://" + r.addr + "/hooks" }

func (r *faultReceiver) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

func (r *faultReceiver) handle(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests++
	mode, release := r.mode, r.release
	r.mu.Unlock()
	switch mode {
	case receiverFail:
		w.WriteHeader(http.StatusInternalServerError)
		return
	case receiverHang:
		select {
		case <-release:
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.mu.Lock()
	r.got[req.Header.Get("X-Wahost-Delivery")]++
	r.mu.Unlock()
}

func (r *faultReceiver) setMode(m receiverMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mode == receiverHang && m != receiverHang {
		close(r.release)
		r.release = make(chan struct{})
	}
	r.mode = m
}

// kill closes the receiver and every connection to it.
func (r *faultReceiver) kill() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// revive listens on the same address again.
func (r *faultReceiver) revive() {
	r.t.Helper()
	// kill closed the listener: the address is free again.
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(l)
}

// snapshot returns the delivery ids received and how many requests came.
func (r *faultReceiver) snapshot() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := make(map[string]int, len(r.got))
	for k, v := range r.got {
		got[k] = v
	}
	return got, r.requests
}

// accounting is what the binary recorded, held to what the test caused.
type accounting struct {
	dropped, recorded, decided, duplicated int // disconnects caused, history rows, rows with a decision, rows recorded twice
	reconnectsDecided, reconnectsFired     int // decisions to reconnect, reconnection.success events
	reconnectGap                           int // decided and not fired, accepted after a SIGKILL
	events                                 int // the event stream's entries
	enqueued, delivered, pending, failed   int // the webhook deliveries in the outbox
	received, repeats, requests            int // distinct ids the receiver took, ids taken more than once, requests
	unknown, undelivered                   int // ids received that are not in the outbox; delivered rows never received
	notOpen                                []string
	pendingPurges                          int
	perInstance                            map[string][2]int // instance → caused, recorded
	history                                string            // the rows by kind, code, action and rule
}

func (a accounting) String() string {
	return fmt.Sprintf("disconnects caused %d / recorded %d / decided %d (%d recorded twice); "+
		"reconnects decided %d / fired %d; events %d, webhooks enqueued %d / delivered %d / pending %d / failed %d, "+
		"received %d distinct ids in %d requests (%d ids repeated, %d unknown, %d delivered but never received); "+
		"instances not open %v; pending purges %d",
		a.dropped, a.recorded, a.decided, a.duplicated, a.reconnectsDecided, a.reconnectsFired,
		a.events, a.enqueued, a.delivered, a.pending, a.failed, a.received, a.requests, a.repeats, a.unknown, a.undelivered,
		a.notOpen, a.pendingPurges)
}

// account reads the binary's records.
func (w *faultWorld) account() accounting {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := accounting{perInstance: map[string][2]int{}}
	w.mu.Lock()
	a.reconnectGap = w.reconnectGap
	for name, n := range w.dropped {
		a.dropped += n
		a.perInstance[name] = [2]int{n, 0}
	}
	w.mu.Unlock()
	rows, err := w.db.QueryContext(ctx, `SELECT i.name, i.status, i.reconnect_due IS NOT NULL,
		count(d.id), count(d.id) FILTER (WHERE d.action <> ''), count(d.id) FILTER (WHERE d.action = 'reconnect')
		FROM wahost_instances i LEFT JOIN wahost_disconnects d ON d.instance_id = i.id
		GROUP BY i.name, i.status, i.reconnect_due`)
	if err != nil {
		w.t.Fatal(err)
	}
	for rows.Next() {
		var name, status string
		var due bool
		var recorded, decided, reconnects int
		if err := rows.Scan(&name, &status, &due, &recorded, &decided, &reconnects); err != nil {
			w.t.Fatal(err)
		}
		a.recorded += recorded
		a.decided += decided
		a.reconnectsDecided += reconnects
		pi := a.perInstance[name]
		a.perInstance[name] = [2]int{pi[0], recorded}
		if status != "open" || due || !w.srv.Online(w.devices[name]) {
			a.notOpen = append(a.notOpen, fmt.Sprintf("%s:%s(due %t, online %t)", name, status, due, w.srv.Online(w.devices[name])))
		}
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	sort.Strings(a.notOpen)
	if err := w.db.QueryRowContext(ctx, `SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM wahost_disconnects
		GROUP BY instance_id, at, kind, code HAVING count(*) > 1) AS twice`).Scan(&a.duplicated); err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.QueryRowContext(ctx, `SELECT coalesce(string_agg(k, ', '), '') FROM (
		SELECT format('%s %s %s %s ×%s (%s)', kind, code, action, rule, count(*), left(min(message || ': ' || raw), 240)) AS k
		FROM wahost_disconnects GROUP BY kind, code, action, rule ORDER BY count(*) DESC) AS kinds`).Scan(&a.history); err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.QueryRowContext(ctx, `SELECT count(*) FROM wahost_pending_purges`).Scan(&a.pendingPurges); err != nil {
		w.t.Fatal(err)
	}
	got, requests := w.hooks.snapshot()
	a.requests = requests
	a.received = len(got)
	for _, n := range got {
		if n > 1 {
			a.repeats++
		}
	}
	rows, err = w.db.QueryContext(ctx, `SELECT id::text, event, seq IS NOT NULL, delivered_at IS NOT NULL, failed_at IS NOT NULL FROM wahost_outbox`)
	if err != nil {
		w.t.Fatal(err)
	}
	inOutbox := map[string]bool{}
	for rows.Next() {
		var id, event string
		var stream, delivered, failed bool
		if err := rows.Scan(&id, &event, &stream, &delivered, &failed); err != nil {
			w.t.Fatal(err)
		}
		if stream { // the event stream's entry; the delivery rows follow
			a.events++
			if event == "reconnection.success" {
				a.reconnectsFired++
			}
			continue
		}
		inOutbox[id] = true
		a.enqueued++
		switch {
		case delivered:
			a.delivered++
			if got[id] == 0 {
				a.undelivered++
			}
		case failed:
			a.failed++
		default:
			a.pending++
		}
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	for id := range got {
		if !inOutbox[id] {
			a.unknown++
		}
	}
	return a
}

// settled reports whether the binary has caught up with what the test
// caused: every instance open again, every webhook delivered, no purge
// waiting and, when exact, every disconnect recorded.
func (a accounting) settled(exact bool) bool {
	return len(a.notOpen) == 0 && a.pending == 0 && a.pendingPurges == 0 &&
		(a.recorded == a.dropped || !exact && a.recorded <= a.dropped)
}

// check fails the test on anything lost or doubled. With exact, every
// disconnect caused is recorded; without (after a SIGKILL), a disconnect
// the killed process had not recorded yet is gone with it — its session
// resumed at the restart — and only that may be missing.
func (a accounting) check(t *testing.T, exact bool) {
	t.Helper()
	var bad []string
	if a.duplicated > 0 {
		bad = append(bad, fmt.Sprintf("%d disconnects recorded twice", a.duplicated))
	}
	if a.decided != a.recorded {
		bad = append(bad, fmt.Sprintf("%d of %d disconnects without a decision", a.recorded-a.decided, a.recorded))
	}
	for name, n := range a.perInstance {
		if n[1] > n[0] || exact && n[1] != n[0] {
			bad = append(bad, fmt.Sprintf("%s: %d disconnects caused, %d recorded", name, n[0], n[1]))
		}
	}
	if exact && a.reconnectsFired+a.reconnectGap != a.reconnectsDecided {
		bad = append(bad, fmt.Sprintf("%d reconnects decided, %d reconnection.success", a.reconnectsDecided, a.reconnectsFired))
	}
	if a.pending > 0 || a.failed > 0 || a.unknown > 0 || a.undelivered > 0 || a.received != a.delivered || a.enqueued != a.events {
		bad = append(bad, "webhooks lost or unaccounted for")
	}
	if len(a.notOpen) > 0 {
		bad = append(bad, "instances stuck")
	}
	if a.pendingPurges > 0 {
		bad = append(bad, "purges left pending")
	}
	if len(bad) > 0 {
		t.Fatalf("%s\n%s\nhistory: %s", strings.Join(bad, "; "), a, a.history)
	}
}

// settle waits until the binary has caught up (see accounting.settled),
// then checks and logs the accounting of scenario.
func (w *faultWorld) settle(scenario string, exactness ...bool) accounting {
	w.t.Helper()
	exact := len(exactness) == 0 || exactness[0]
	var a accounting
	w.waitFor(scenario+": settling", 40*time.Second, func() (bool, string) {
		a = w.account()
		return a.settled(exact), a.String() + "\nhistory: " + a.history
	})
	a.check(w.t, exact)
	w.t.Logf("%s: %s", scenario, a)
	if !exact {
		// What the killed process took with it is known now: later
		// scenarios hold the records to the rest exactly.
		lost := 0
		w.mu.Lock()
		for name, n := range a.perInstance {
			lost += n[0] - n[1]
			w.dropped[name] = n[1]
		}
		w.reconnectGap = a.reconnectsDecided - a.reconnectsFired
		w.mu.Unlock()
		w.t.Logf("%s: %d disconnects died with the process before they were recorded (their sessions resumed at the restart); %d reconnects decided before the kill were not reported as reconnection.success",
			scenario, lost, a.reconnectGap)
	}
	return a
}

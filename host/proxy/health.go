package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wahost/wahost/host/clock"
)

// Breaker configures when a proxy is marked down and how it returns.
type Breaker struct {
	// Failures from this many distinct instances within Window mark a
	// proxy down; 0 means 3.
	Failures int
	// Window is how far back failures count; 0 means 2 minutes.
	Window time.Duration
	// CoolDown is how long a proxy stays down before its first probe; 0
	// means 30 seconds.
	CoolDown time.Duration
	// ProbeInterval is the time between two probes of a down proxy; 0
	// means 10 seconds.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe (a TCP connect); 0 means 5 seconds.
	ProbeTimeout time.Duration
}

func (b Breaker) withDefaults() Breaker {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if b.Failures <= 0 {
		b.Failures = 3
	}
	def(&b.Window, 2*time.Minute)
	def(&b.CoolDown, 30*time.Second)
	def(&b.ProbeInterval, 10*time.Second)
	def(&b.ProbeTimeout, 5*time.Second)
	return b
}

// Status is one proxy's health, as GET /v1/proxies and the metrics show
// it. It never holds credentials.
type Status struct {
	ID          string           `json:"id"`    // scheme://host:port
	Proxy       string           `json:"proxy"` // the URL, password masked
	Pool        string           `json:"pool,omitempty"`
	Down        bool             `json:"down"`
	DownSince   time.Time        `json:"down_since,omitzero"`
	NextProbe   time.Time        `json:"next_probe,omitzero"`
	Sessions    int              `json:"sessions"` // instances whose connection goes through it
	Connects    int64            `json:"connects"`
	Failures    int64            `json:"failures"`
	ByCause     map[string]int64 `json:"failures_by_cause,omitempty"`
	LastSuccess time.Time        `json:"last_success,omitzero"`
	LastFailure time.Time        `json:"last_failure,omitzero"`
}

// failure is one failed connect.
type failure struct {
	at       time.Time
	instance string
}

// health is the state of one proxy.
type health struct {
	ep       Endpoint
	status   Status
	recent   []failure       // within the window, oldest first
	sessions map[string]bool // instances going through it
}

// Health keeps, per proxy, the outcomes of the connections that went
// through it, and a breaker: failures for Breaker.Failures distinct
// instances within Breaker.Window mark the proxy down; Probe tries the
// proxies whose cool-down is over and brings back those that answer.
type Health struct {
	cfg   Breaker
	clock clock.Clock
	// dial probes a proxy; a net.Dialer's DialContext by default.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// downs is signalled when a proxy is marked down (the Prober sleeps
	// on it while none is).
	downs chan struct{}

	mu      sync.Mutex // guards proxies
	proxies map[string]*health
}

// NewHealth returns a Health; clk nil means the system clock.
func NewHealth(cfg Breaker, clk clock.Clock) *Health {
	if clk == nil {
		clk = clock.Real()
	}
	var d net.Dialer
	return &Health{cfg: cfg.withDefaults(), clock: clk, dial: d.DialContext, proxies: make(map[string]*health),
		downs: make(chan struct{}, 1)}
}

func (h *Health) getLocked(ep Endpoint) *health {
	p := h.proxies[ep.ID()]
	if p == nil {
		p = &health{ep: ep, status: Status{ID: ep.ID(), Proxy: ep.String()}, sessions: make(map[string]bool)}
		h.proxies[ep.ID()] = p
	}
	return p
}

// Record counts the end of a connect through ep for instance: err nil
// is a login, anything else a failure under its cause (FailureCause).
func (h *Health) Record(ep Endpoint, instance string, err error) {
	if ep.IsZero() {
		return
	}
	now := h.clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.getLocked(ep)
	for _, other := range h.proxies {
		delete(other.sessions, instance)
	}
	if err == nil {
		p.status.Connects++
		p.status.LastSuccess = now
		p.sessions[instance] = true
		return
	}
	p.status.Failures++
	p.status.LastFailure = now
	if p.status.ByCause == nil {
		p.status.ByCause = make(map[string]int64)
	}
	p.status.ByCause[FailureCause(err)]++
	p.recent = append(p.pruneLocked(now, h.cfg.Window), failure{at: now, instance: instance})
	if p.status.Down {
		return
	}
	distinct := map[string]bool{}
	for _, f := range p.recent {
		distinct[f.instance] = true
	}
	if len(distinct) >= h.cfg.Failures {
		p.status.Down, p.status.DownSince = true, now
		p.status.NextProbe = now.Add(h.cfg.CoolDown)
		select {
		case h.downs <- struct{}{}:
		default:
		}
	}
}

// Forget drops instance from every proxy's sessions. Its past failures
// stay in the windows they count in: they happened.
func (h *Health) Forget(instance string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.proxies {
		delete(p.sessions, instance)
	}
}

// anyDown reports whether some proxy is marked down.
func (h *Health) anyDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.proxies {
		if p.status.Down {
			return true
		}
	}
	return false
}

// pruneLocked drops the failures older than window.
func (p *health) pruneLocked(now time.Time, window time.Duration) []failure {
	cut := 0
	for cut < len(p.recent) && now.Sub(p.recent[cut].at) > window {
		cut++
	}
	return slices.Delete(p.recent, 0, cut)
}

// Down reports whether ep is marked down.
func (h *Health) Down(ep Endpoint) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.proxies[ep.ID()]
	return p != nil && p.status.Down
}

// RecentFailures counts the failures through ep within the window: all
// of them, and those of instance.
func (h *Health) RecentFailures(ep Endpoint, instance string) (all, mine int) {
	now := h.clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.proxies[ep.ID()]
	if p == nil {
		return 0, 0
	}
	for _, f := range p.recent {
		if now.Sub(f.at) > h.cfg.Window {
			continue
		}
		all++
		if f.instance == instance {
			mine++
		}
	}
	return all, mine
}

// Probe tries every down proxy whose probe is due with a TCP connect;
// one that answers is up again, its recent failures forgotten. It
// returns the IDs of the proxies that came back.
func (h *Health) Probe(ctx context.Context) []string {
	now := h.clock.Now()
	h.mu.Lock()
	var due []Endpoint
	for _, p := range h.proxies {
		if p.status.Down && !now.Before(p.status.NextProbe) {
			due = append(due, p.ep)
			p.status.NextProbe = now.Add(h.cfg.ProbeInterval)
		}
	}
	h.mu.Unlock()
	var back []string
	for _, ep := range due {
		pctx, cancel := context.WithTimeout(ctx, h.cfg.ProbeTimeout)
		c, err := h.dial(pctx, "tcp", ep.Addr())
		cancel()
		if err != nil {
			continue
		}
		c.Close()
		h.mu.Lock()
		if p := h.proxies[ep.ID()]; p != nil && p.status.Down {
			p.status.Down, p.status.DownSince, p.status.NextProbe = false, time.Time{}, time.Time{}
			p.recent = nil
			back = append(back, ep.ID())
		}
		h.mu.Unlock()
	}
	slices.Sort(back)
	return back
}

// Statuses returns every known proxy's health, sorted by ID.
func (h *Health) Statuses() []Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Status, 0, len(h.proxies))
	for _, p := range h.proxies {
		st := p.status
		st.Sessions = len(p.sessions)
		st.ByCause = maps.Clone(st.ByCause)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Failure causes FailureCause names.
const (
	CauseRefused  = "refused"
	CauseTimeout  = "timeout"
	CauseDNS      = "dns"
	CauseTLS      = "tls"
	CauseAuth     = "proxy_auth"
	CauseUpstream = "upstream" // the proxy could not reach WhatsApp
	CauseOther    = "other"
)

// FailureCause names the network cause of a failed connect.
func FailureCause(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, ErrAuth):
		return CauseAuth
	case errors.As(err, &dns):
		return CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return CauseTimeout
	case isTLS(err):
		return CauseTLS
	case StageOf(err) == StageTarget:
		return CauseUpstream
	}
	return CauseOther
}

// isTLS reports a failed TLS handshake, with the proxy or with WhatsApp.
func isTLS(err error) bool {
	var rec tls.RecordHeaderError
	var cert *tls.CertificateVerificationError
	var alert tls.AlertError
	return errors.As(err, &rec) || errors.As(err, &cert) || errors.As(err, &alert) ||
		strings.Contains(err.Error(), "tls: ")
}

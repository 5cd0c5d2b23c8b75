// Package policy keeps the host's policy modules: the active one, which
// decides every disconnect, and an optional candidate, which decides the
// same inputs in shadow so an operator can compare before promoting it.
//
// Apply is the only way a module changes. It reads the module named by a
// Spec (a file or a built-in, optionally pinned by sha256), compiles it,
// self-tests it with the configured settings and swaps it in as a new
// generation of the runtime's Slot; decisions in flight finish on the
// generation they started on, so nothing is dropped. Any failure leaves the
// previous generation active and is returned, counted and kept for Status.
package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/policies/source"
	"github.com/wahost/wahost/runtime"
)

// Spec names the modules and the settings they run with.
type Spec struct {
	// Module is a .wasm path or a built-in name (builtin:default).
	Module string
	// SHA256, if set, pins Module's digest.
	SHA256 string
	// Settings is the JSON object every input carries.
	Settings abi.Settings
	// MaxDelay bounds the reconnect delay a decision may ask for.
	MaxDelay time.Duration
	// Candidate, if set, is evaluated in shadow beside Module.
	Candidate       string
	CandidateSHA256 string
	// Overrides are policies instances may name instead of Module.
	Overrides map[string]Override
}

// Override is a named policy for the instances that choose it.
type Override struct {
	Module, SHA256 string
	Settings       abi.Settings
}

// slotPolicy is a runtime slot as a disconnect.Policy: each answer names
// the module that gave it.
type slotPolicy struct{ slot *runtime.Slot }

func (p slotPolicy) Decide(ctx context.Context, input []byte) (disconnect.Answer, error) {
	out, ref, err := p.slot.DecideRef(ctx, input)
	return disconnect.Answer{Out: out, Module: ref.Name, SHA256: ref.SHA256, Generation: ref.Generation}, err
}

// Module names the slot's current module and its ABI minor version; it
// implements disconnect.Versioned.
func (p slotPolicy) Module() (name, sha256 string, minor uint16, ok bool) {
	cur := p.slot.Stats().Current
	if cur == nil {
		return "", "", 0, false
	}
	return cur.Name, cur.SHA256, cur.ABIMinor, true
}

// Warm readies the slot's current module; it implements
// disconnect.Warmer.
func (p slotPolicy) Warm(ctx context.Context) error { return p.slot.Warm(ctx) }

var (
	_ disconnect.Versioned = slotPolicy{}
	_ disconnect.Warmer    = slotPolicy{}
)

// override is a loaded Override.
type override struct {
	slotPolicy
	name, module, sha string
	settings          abi.Settings
}

func (s Spec) limits() abi.Limits { return abi.Limits{MaxDelay: s.MaxDelay} }

// Config configures a Manager.
type Config struct {
	// Engine configures the runtime engine (cache, pool, deadline,
	// memory). It is fixed for the Manager's life.
	Engine runtime.Config
	// Breaker sets when the active module is given up on.
	Breaker runtime.BreakerConfig
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Registerer, if set, receives the reload metrics.
	Registerer prometheus.Registerer
	// OnSlotEvent, if set, is told about swaps, breaker trips and reverts
	// of the active slot.
	OnSlotEvent func(runtime.Event)
}

// Manager owns the runtime engine and the policy slots. It is safe for
// concurrent use; Apply calls are serialised.
type Manager struct {
	engine    *runtime.Engine
	active    *runtime.Slot
	candidate *runtime.Slot
	canary    *runtime.Slot // a rollout's module
	log       *slog.Logger

	mu      sync.Mutex // serialises Apply
	applied Spec       // guarded by mu: the spec in force
	// promoted and canarySettings are guarded by mu.
	promoted       *Promotion
	canarySettings string
	maxDelay       atomic.Int64 // applied.MaxDelay, read by every decision without mu
	hasCand        atomic.Bool
	settings       atomic.Pointer[abi.Settings]
	overrides      atomic.Pointer[map[string]*override]
	last           atomic.Pointer[Reload]
	metrics        *metrics
	breaker        runtime.BreakerConfig
}

// Reload is the outcome of one Apply.
type Reload struct {
	At      time.Time `json:"at"`
	Trigger string    `json:"trigger"`
	OK      bool      `json:"ok"`
	// Changed is false when the spec matched what was already active.
	Changed bool   `json:"changed"`
	Module  string `json:"module,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	// Generation is the active slot's generation after the reload.
	Generation uint64        `json:"generation"`
	Duration   time.Duration `json:"duration_ns"`
	Error      string        `json:"error,omitempty"`
}

// New starts an engine with no module loaded; Apply loads the first.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	eng, err := runtime.NewEngine(ctx, cfg.Engine)
	if err != nil {
		return nil, fmt.Errorf("starting policy engine: %w", err)
	}
	met := newMetrics(cfg.Registerer)
	m := &Manager{
		engine: eng,
		active: runtime.NewSlot(runtime.SlotConfig{
			Breaker: cfg.Breaker, OnEvent: met.slotEvents("active", cfg.OnSlotEvent), Logger: cfg.Logger.With("slot", "active"),
		}),
		candidate: runtime.NewSlot(runtime.SlotConfig{Breaker: cfg.Breaker, OnEvent: met.slotEvents("candidate", nil),
			Logger: cfg.Logger.With("slot", "candidate")}),
		canary: runtime.NewSlot(runtime.SlotConfig{Breaker: cfg.Breaker, OnEvent: met.slotEvents("rollout", nil),
			Logger: cfg.Logger.With("slot", "rollout")}),
		log:     cfg.Logger,
		metrics: met,
		breaker: cfg.Breaker,
	}
	none := map[string]*override{}
	m.overrides.Store(&none)
	empty := abi.Settings("{}")
	m.settings.Store(&empty)
	return m, nil
}

// TriggerStart is the trigger of the first Apply, at start: its failure
// ends the start, and the caller reports it.
const TriggerStart = "start"

// Apply makes spec the policy in force. A spec equal to the one in force
// changes nothing. On error the previous modules and settings stay active.
func (m *Manager) Apply(ctx context.Context, spec Spec, trigger string) (Reload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := time.Now()
	r, err := m.apply(ctx, spec)
	r.At, r.Trigger, r.Duration = start.UTC(), trigger, time.Since(start)
	r.Generation = m.active.Stats().Generation
	if err != nil {
		r.Error = err.Error()
		m.metrics.reloads.WithLabelValues("failed").Inc()
		msg := "policy reload rejected; the previous policy stays active"
		if m.active.Stats().Current == nil {
			msg = "policy rejected; no policy is loaded"
		}
		if trigger != TriggerStart { // a failed start is the caller's to report
			m.log.ErrorContext(ctx, msg, "trigger", trigger, "module", spec.Module, "error", err)
		}
	} else {
		r.OK = true
		if r.Changed {
			m.metrics.reloads.WithLabelValues("applied").Inc()
			m.metrics.swapSeconds.Observe(r.Duration.Seconds())
			m.log.InfoContext(ctx, "policy applied", "trigger", trigger, "module", r.Module,
				"sha256", r.SHA256, "generation", r.Generation, "took", r.Duration)
		} else {
			m.metrics.reloads.WithLabelValues("unchanged").Inc()
		}
	}
	m.last.Store(&r)
	return r, err
}

// Reject records a reload that failed before a spec could be built (a bad
// config file, say): counted and shown by Status like a rejected module,
// and the policy in force stays.
func (m *Manager) Reject(ctx context.Context, trigger string, err error) Reload {
	r := Reload{At: time.Now().UTC(), Trigger: trigger, Error: err.Error(), Generation: m.active.Stats().Generation}
	m.metrics.reloads.WithLabelValues("failed").Inc()
	m.log.ErrorContext(ctx, "reload rejected; the previous policy stays active", "trigger", trigger, "error", err)
	m.last.Store(&r)
	return r
}

func (m *Manager) apply(ctx context.Context, spec Spec) (Reload, error) {
	if len(spec.Settings) == 0 {
		spec.Settings = abi.Settings("{}")
	}
	if _, err := abi.ParseSettings(spec.Settings); err != nil {
		return Reload{}, fmt.Errorf("policy settings: %w", err)
	}
	activeMod, err := source.Read(spec.Module, spec.SHA256)
	if err != nil {
		return Reload{}, err
	}
	if m.promoted != nil {
		named := spec.Module
		if spec = m.promotedSpec(spec, activeMod.SHA256); spec.Module != named {
			if activeMod, err = source.Read(spec.Module, spec.SHA256); err != nil {
				return Reload{}, fmt.Errorf("promoted module: %w", err)
			}
		}
	}
	r := Reload{Module: spec.Module, SHA256: activeMod.SHA256}
	cur := m.active.Stats().Current
	sameActive := cur != nil && cur.SHA256 == activeMod.SHA256 && bytes.Equal(m.applied.Settings, spec.Settings) &&
		m.applied.MaxDelay == spec.MaxDelay
	var candMod *source.Module
	if spec.Candidate != "" {
		if candMod, err = source.Read(spec.Candidate, spec.CandidateSHA256); err != nil {
			return r, fmt.Errorf("candidate: %w", err)
		}
	}
	candCur := m.candidate.Stats().Current
	sameCand := (candMod == nil && !m.hasCand.Load()) ||
		(candMod != nil && m.hasCand.Load() && candCur != nil && candCur.SHA256 == candMod.SHA256 && sameActive)
	nextOverrides, loaded, changedOverrides, err := m.loadOverrides(ctx, spec)
	if err != nil {
		return r, err
	}
	closeLoaded := func() {
		for _, mod := range loaded {
			_ = mod.Close(ctx)
		}
	}
	if sameActive && sameCand && !changedOverrides {
		return r, nil
	}
	opts := source.LoadOptions(spec.Settings, spec.limits())
	// Load both before swapping either, so a bad candidate rejects the
	// whole reload and the two never come from different specs.
	var newActive, newCand *runtime.Module
	if !sameActive {
		if newActive, err = m.engine.Load(ctx, spec.Module, activeMod.Wasm, opts); err != nil {
			closeLoaded()
			return r, err
		}
	}
	if candMod != nil && !sameCand {
		if newCand, err = m.engine.Load(ctx, spec.Candidate, candMod.Wasm, opts); err != nil {
			if newActive != nil {
				_ = newActive.Close(ctx)
			}
			closeLoaded()
			return r, fmt.Errorf("candidate: %w", err)
		}
	}
	if newActive != nil {
		if _, err := m.active.Swap(newActive); err != nil {
			_ = newActive.Close(ctx)
			if newCand != nil {
				_ = newCand.Close(ctx)
			}
			closeLoaded()
			return r, err
		}
	}
	switch {
	case newCand != nil:
		if _, err := m.candidate.Swap(newCand); err != nil {
			_ = newCand.Close(ctx)
			return r, fmt.Errorf("candidate: %w", err)
		}
		m.hasCand.Store(true)
	case candMod == nil && m.hasCand.Load():
		m.hasCand.Store(false) // the retired candidate is closed with the slot
	}
	m.swapOverrides(ctx, nextOverrides)
	settings := spec.Settings
	m.settings.Store(&settings)
	m.applied = spec
	m.maxDelay.Store(int64(spec.MaxDelay))
	r.Changed = true
	return r, nil
}

// loadOverrides reads the spec's overrides and loads those that changed,
// each into a new slot; the unchanged ones are carried over. Nothing is
// swapped in yet. On error every module loaded here is closed.
func (m *Manager) loadOverrides(ctx context.Context, spec Spec) (next map[string]*override, loaded []*runtime.Module, changed bool, err error) {
	cur := *m.overrides.Load()
	next = make(map[string]*override, len(spec.Overrides))
	fail := func(err error) (map[string]*override, []*runtime.Module, bool, error) {
		for _, mod := range loaded {
			_ = mod.Close(ctx)
		}
		return nil, nil, false, err
	}
	for name, o := range spec.Overrides {
		settings := o.Settings
		if len(settings) == 0 {
			settings = abi.Settings("{}")
		}
		if _, err := abi.ParseSettings(settings); err != nil {
			return fail(fmt.Errorf("override %s: settings: %w", name, err))
		}
		src, err := source.Read(o.Module, o.SHA256)
		if err != nil {
			return fail(fmt.Errorf("override %s: %w", name, err))
		}
		if old := cur[name]; old != nil && old.sha == src.SHA256 && bytes.Equal(old.settings, settings) &&
			m.applied.MaxDelay == spec.MaxDelay {
			next[name] = old
			continue
		}
		mod, err := m.engine.Load(ctx, "override:"+name, src.Wasm, source.LoadOptions(settings, spec.limits()))
		if err != nil {
			return fail(fmt.Errorf("override %s: %w", name, err))
		}
		loaded = append(loaded, mod)
		slot := runtime.NewSlot(runtime.SlotConfig{Breaker: m.breaker, OnEvent: m.metrics.slotEvents("override", nil),
			Logger: m.log.With("slot", "override:"+name)})
		if _, err := slot.Swap(mod); err != nil {
			return fail(fmt.Errorf("override %s: %w", name, err))
		}
		next[name] = &override{slotPolicy: slotPolicy{slot}, name: name, module: o.Module, sha: src.SHA256, settings: settings}
		changed = true
	}
	for name := range cur {
		if _, ok := next[name]; !ok {
			changed = true
		}
	}
	return next, loaded, changed, nil
}

// swapOverrides makes next the overrides in force and closes the slots
// that left, once their calls in flight have returned.
func (m *Manager) swapOverrides(ctx context.Context, next map[string]*override) {
	old := *m.overrides.Swap(&next)
	for name, o := range old {
		if next[name] != o {
			go func() { _ = o.slot.Close(context.WithoutCancel(ctx)) }()
		}
	}
}

// Override returns the named per-instance policy and its settings; ok is
// false when the config has no such override.
func (m *Manager) Override(name string) (p disconnect.Policy, settings abi.Settings, ok bool) {
	o, ok := (*m.overrides.Load())[name]
	if !ok {
		return nil, nil, false
	}
	return o, o.settings, true
}

// HasOverride reports whether the config has the named override.
func (m *Manager) HasOverride(name string) bool {
	_, ok := (*m.overrides.Load())[name]
	return ok
}

// Decide runs input through the active module; it implements
// disconnect.Policy.
func (m *Manager) Decide(ctx context.Context, input []byte) (disconnect.Answer, error) {
	return slotPolicy{m.active}.Decide(ctx, input)
}

// Module names the active module and its ABI minor version; it
// implements disconnect.Versioned.
func (m *Manager) Module() (name, sha256 string, minor uint16, ok bool) {
	return slotPolicy{m.active}.Module()
}

// Warm readies the active module for the next decision; it implements
// disconnect.Warmer.
func (m *Manager) Warm(ctx context.Context) error { return slotPolicy{m.active}.Warm(ctx) }

// Candidate returns the shadow policy, or nil when none is configured.
func (m *Manager) Candidate() disconnect.Policy {
	if !m.hasCand.Load() {
		return nil
	}
	return slotPolicy{m.candidate}
}

// Settings returns the settings in force, for every input.
func (m *Manager) Settings() abi.Settings { return *m.settings.Load() }

// Loaded reports whether an active module is in place.
func (m *Manager) Loaded() bool { return m.active.Stats().Current != nil }

// Status describes the slots and the last reload.
type Status struct {
	Active    SlotStatus            `json:"active"`
	Candidate *SlotStatus           `json:"candidate,omitempty"`
	Overrides map[string]SlotStatus `json:"overrides,omitempty"`
	// Canary is a rollout's module, when one is loaded.
	Canary *SlotStatus `json:"rollout,omitempty"`
	// Promoted is set while a rollout's promoted module runs instead of
	// the module the config names (policy.module): the config should be
	// changed to name it.
	Promoted *Promotion `json:"promoted,omitempty"`
	// LastReload is the outcome of the latest Apply; nil before the first.
	LastReload *Reload `json:"last_reload,omitempty"`
	Engine     struct {
		Loaded   uint64 `json:"loaded"`
		Rejected uint64 `json:"rejected"`
		Live     int    `json:"live"`
	} `json:"engine"`
}

// SlotStatus is one slot's state, for the API.
type SlotStatus struct {
	Module         string            `json:"module,omitempty"`
	SHA256         string            `json:"sha256,omitempty"`
	Size           int               `json:"size,omitempty"`
	ABI            string            `json:"abi,omitempty"`
	LoadedAt       *time.Time        `json:"loaded_at,omitempty"`
	Generation     uint64            `json:"generation"`
	LastKnownGood  string            `json:"last_known_good_sha256,omitempty"`
	Healthy        bool              `json:"healthy"`
	UnhealthyUntil *time.Time        `json:"unhealthy_until,omitempty"`
	Swaps          uint64            `json:"swaps"`
	Reverts        uint64            `json:"reverts"`
	Trips          uint64            `json:"breaker_trips"`
	Faults         map[string]uint64 `json:"faults"`
	Calls          uint64            `json:"calls"`
}

func slotStatus(st runtime.SlotStats) SlotStatus {
	s := SlotStatus{
		Generation: st.Generation, Healthy: st.Healthy, Swaps: st.Swaps, Reverts: st.Reverts,
		Trips: st.Trips, Faults: make(map[string]uint64, len(st.Faults)),
	}
	for k, n := range st.Faults {
		s.Faults[string(k)] = n
	}
	if !st.UnhealthyUntil.IsZero() && !st.Healthy {
		t := st.UnhealthyUntil.UTC()
		s.UnhealthyUntil = &t
	}
	if c := st.Current; c != nil {
		t := c.LoadedAt.UTC()
		s.Module, s.SHA256, s.Size, s.LoadedAt, s.Calls = c.Name, c.SHA256, c.Size, &t, c.Calls
		s.ABI = fmt.Sprintf("%d.%d", c.ABIMajor, c.ABIMinor)
	}
	if l := st.LastKnownGood; l != nil {
		s.LastKnownGood = l.SHA256
	}
	return s
}

// Status returns the slots' state and the last reload.
func (m *Manager) Status() Status {
	var st Status
	st.Active = slotStatus(m.active.Stats())
	if m.hasCand.Load() {
		c := slotStatus(m.candidate.Stats())
		st.Candidate = &c
	}
	for name, o := range *m.overrides.Load() {
		if st.Overrides == nil {
			st.Overrides = make(map[string]SlotStatus)
		}
		st.Overrides[name] = slotStatus(o.slot.Stats())
	}
	if m.canary.Stats().Current != nil {
		c := slotStatus(m.canary.Stats())
		st.Canary = &c
	}
	st.Promoted = m.Promoted()
	st.LastReload = m.last.Load()
	es := m.engine.Stats()
	st.Engine.Loaded, st.Engine.Rejected, st.Engine.Live = es.Loaded, es.Rejected, es.Live
	return st
}

// Close closes the slots and the engine, waiting for calls in flight.
func (m *Manager) Close(ctx context.Context) error {
	errs := []error{m.active.Close(ctx), m.candidate.Close(ctx), m.canary.Close(ctx)}
	for _, o := range *m.overrides.Load() {
		errs = append(errs, o.slot.Close(ctx))
	}
	return errors.Join(append(errs, m.engine.Close(ctx))...)
}

type metrics struct {
	reloads     *prometheus.CounterVec
	swapSeconds prometheus.Histogram
	trips       *prometheus.CounterVec // breaker trips, by slot
	reverts     *prometheus.CounterVec // trips that reverted to the last healthy module, by slot
}

// slotEvents counts a slot's breaker trips and reverts, then passes each
// event on to next (if any).
func (m *metrics) slotEvents(slot string, next func(runtime.Event)) func(runtime.Event) {
	return func(ev runtime.Event) {
		switch ev.Kind {
		case runtime.EventRevert:
			m.trips.WithLabelValues(slot).Inc()
			m.reverts.WithLabelValues(slot).Inc()
		case runtime.EventUnhealthy:
			m.trips.WithLabelValues(slot).Inc()
		}
		if next != nil {
			next(ev)
		}
	}
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_reloads_total",
			Help: "Policy reloads by result: applied, unchanged or failed.",
		}, []string{"result"}),
		swapSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wahost_policy_swap_seconds",
			Help:    "Time to read, compile, self-test and swap in a policy module.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		trips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_breaker_trips_total",
			Help: "Times a policy module's breaker tripped (faults within policy.breaker_window), by slot: active, candidate or override.",
		}, []string{"slot"}),
		reverts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wahost_policy_reverts_total",
			Help: "Breaker trips that reverted the slot to the last module that was healthy, by slot.",
		}, []string{"slot"}),
	}
	m.trips.WithLabelValues("active") // shown at zero from the start
	m.reverts.WithLabelValues("active")
	if reg != nil {
		reg.MustRegister(m.reloads, m.swapSeconds, m.trips, m.reverts)
	}
	return m
}

// Limits are the limits of the spec in force (policy.max_delay), which a
// reload changes.
func (m *Manager) Limits() abi.Limits {
	return abi.Limits{MaxDelay: time.Duration(m.maxDelay.Load())}
}

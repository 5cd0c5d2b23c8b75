package runtime

import (
	"context"
	"log/slog"
	"time"
)

// EventKind names a change in a Slot.
type EventKind string

// The kinds of Event.
const (
	// EventSwap: Module became current through Swap.
	EventSwap EventKind = "swap"
	// EventRevert: Module's breaker tripped and the slot reverted to the
	// last-known-good module, now Current. Module is closed once drained.
	EventRevert EventKind = "revert"
	// EventUnhealthy: Module's breaker tripped with no last-known-good
	// module to revert to; calls fail fast with KindUnhealthy for the
	// breaker's cooldown.
	EventUnhealthy EventKind = "unhealthy"
	// EventClosed: Module, which had left the slot, finished its last call
	// and was closed.
	EventClosed EventKind = "closed"
)

// ModuleRef identifies a module in events.
type ModuleRef struct {
	Name   string
	SHA256 string
	// Generation is the slot generation that answered, in DecideRef's
	// reference; zero elsewhere.
	Generation uint64
}

func refOf(m *Module) ModuleRef {
	return ModuleRef{Name: m.name, SHA256: m.sha}
}

// Event reports a change in a Slot.
type Event struct {
	Kind EventKind
	Time time.Time
	// Generation is the generation number current after the event; zero
	// for EventClosed.
	Generation uint64
	// Module is the module the event is about.
	Module ModuleRef
	// Previous is the module that was current before a swap.
	Previous ModuleRef
	// Current is the module current after a swap, revert or trip.
	Current ModuleRef
	// Err is the fault that tripped the breaker.
	Err error
}

// emit logs ev and passes it to SlotConfig.OnEvent.
func (s *Slot) emit(ev Event) {
	level, msg := slog.LevelInfo, "policy module swapped in"
	switch ev.Kind {
	case EventRevert:
		level, msg = slog.LevelError, "policy module unhealthy, reverted to last-known-good"
	case EventUnhealthy:
		level, msg = slog.LevelError, "policy module unhealthy, no last-known-good to revert to"
	case EventClosed:
		level, msg = slog.LevelDebug, "retired policy module closed"
	}
	attrs := []slog.Attr{
		slog.String("policy", ev.Module.Name),
		slog.String("sha256", shortHash(ev.Module.SHA256)),
	}
	if ev.Generation != 0 {
		attrs = append(attrs, slog.Uint64("generation", ev.Generation))
	}
	if ev.Kind == EventRevert {
		attrs = append(attrs, slog.String("current", ev.Current.Name), slog.String("current_sha256", shortHash(ev.Current.SHA256)))
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.String("fault", ev.Err.Error()))
	}
	s.cfg.Logger.LogAttrs(context.Background(), level, msg, attrs...)
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}

// SlotStats describes a Slot.
type SlotStats struct {
	// Generation is the number of the current generation: it increases
	// with every swap and revert. Zero before the first Swap.
	Generation uint64
	// Current and LastKnownGood describe the modules in the slot; nil when
	// absent.
	Current, LastKnownGood *ModuleInfo
	// Healthy is false while the breaker holds calls back, until
	// UnhealthyUntil.
	Healthy        bool
	UnhealthyUntil time.Time
	// Swaps, Reverts and Trips count those events.
	Swaps, Reverts, Trips uint64
	// Retired counts modules that left the slot; Closed counts those that
	// finished closing. Retired - Closed modules are still draining.
	Retired, Closed uint64
	// Faults counts failed decisions by kind, KindUnhealthy included;
	// kinds never seen are absent.
	Faults map[FaultKind]uint64
}

// Stats returns the slot's generation, modules and counters.
func (s *Slot) Stats() SlotStats {
	s.mu.Lock()
	st := SlotStats{
		Healthy: true,
		Swaps:   s.swaps, Reverts: s.reverts, Trips: s.trips,
		Retired: s.retired, Closed: s.finished,
		Faults: make(map[FaultKind]uint64),
	}
	g, lkg := s.cur.Load(), s.lkg
	if g != nil {
		st.Generation = g.num
	}
	s.mu.Unlock()
	if g != nil {
		info := g.m.Info()
		st.Current = &info
		if until := g.openUntil.Load(); until != 0 && s.cfg.Clock().UnixNano() < until {
			st.Healthy, st.UnhealthyUntil = false, time.Unix(0, until)
		}
	}
	if lkg != nil {
		info := lkg.m.Info()
		st.LastKnownGood = &info
	}
	for k, c := range s.faults {
		if n := c.Load(); n > 0 {
			st.Faults[k] = n
		}
	}
	return st
}

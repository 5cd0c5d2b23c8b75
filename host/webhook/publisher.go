package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wahost/wahost/storage"
)

// ErrRefused is wrapped by the error a Publisher returns for a message the
// broker refused (too large, unroutable with mandatory publishing, a
// negative acknowledgement): the event fails with that reason, and an
// operator may redeliver it like a failed webhook.
var ErrRefused = errors.New("the broker refused the message")

// Publisher publishes events to a message broker. The dispatcher calls it
// instead of an HTTP POST for the outbox rows of its Sink, from several
// workers at once: an implementation is safe for concurrent use and keeps
// the order of the messages of one call.
type Publisher interface {
	// Publish sends msgs in order and waits until the broker confirmed
	// them, or ctx ends. It returns one error per message: nil when the
	// broker confirmed it; an error wrapping ErrRefused when the broker
	// refused it; any other error (the broker is unreachable, no
	// confirmation came) and the event is published again later, without
	// limit.
	Publish(ctx context.Context, msgs []Message) []error
}

// Message is one event a Publisher sends.
type Message struct {
	ID       string    // the event's ID: message ID and deduplication key
	Event    string    // wire name, e.g. "messages.upsert"
	Instance string    // instance name; empty for host-wide events
	Global   bool      // the sink's global target, else the instance's own
	Body     []byte    // Evolution API's envelope for brokers: the webhook's without destination
	Time     time.Time // when the event was enqueued
}

// Sink is a message broker the dispatcher publishes to, beside webhooks.
type Sink struct {
	// Kind names the broker ("rabbitmq", "nats"): it prefixes the outbox
	// rows' destination and selects an instance's settings
	// (storage.InstanceSettings.RabbitMQ, NATS).
	Kind      string
	Publisher Publisher
	// Global publishes every instance's events to the broker's global
	// target (Evolution's *_GLOBAL_ENABLED); Events filters them, in
	// either of Evolution's forms; empty means all.
	Global bool
	Events []string
}

// Sink kinds wahost ships.
const (
	SinkRabbitMQ = "rabbitmq"
	SinkNATS     = "nats"
)

// sinkRetryCap bounds the wait between two attempts of an event whose
// broker was unreachable: the publisher reconnects on its own, and the
// events follow within this long once it is back.
const (
	sinkRetryCap   = 5 * time.Second
	sinkRetryFloor = 50 * time.Millisecond
)

// publishBatch is how many events one publisher job carries at most;
// publishShare is how many it takes before queued events are split among
// the workers.
const (
	publishBatch = 500
	publishShare = 64
)

// sinkState is a configured Sink with its routes.
type sinkState struct {
	kind      string
	pub       Publisher
	global    map[string]bool // nil: all; absent when !globalOn
	globalOn  bool
	instances map[string]map[string]bool // instance id → events (nil map: all)
}

func newSinkStates(sinks []Sink) (map[string]*sinkState, []string, error) {
	out := make(map[string]*sinkState, len(sinks))
	var kinds []string
	for _, s := range sinks {
		if s.Kind == "" || strings.Contains(s.Kind, ":") || s.Publisher == nil {
			return nil, nil, fmt.Errorf("sink %q: a kind without colon and a publisher are required", s.Kind)
		}
		if out[s.Kind] != nil {
			return nil, nil, fmt.Errorf("sink %q is configured twice", s.Kind)
		}
		out[s.Kind] = &sinkState{kind: s.Kind, pub: s.Publisher, globalOn: s.Global, global: eventSet(s.Events),
			instances: make(map[string]map[string]bool)}
		kinds = append(kinds, s.Kind)
	}
	sort.Strings(kinds)
	return out, kinds, nil
}

// eventSet returns the wire names of events, nil when empty (all).
func eventSet(events []string) map[string]bool {
	var set map[string]bool
	for _, ev := range events {
		if name := EventName(ev); name != "" {
			if set == nil {
				set = make(map[string]bool)
			}
			set[name] = true
		}
	}
	return set
}

// sinkSettings returns an instance's settings for a sink kind.
func sinkSettings(kind string, s storage.InstanceSettings) storage.SinkSettings {
	switch kind {
	case SinkRabbitMQ:
		return s.RabbitMQ
	case SinkNATS:
		return s.NATS
	}
	return storage.SinkSettings{}
}

// Destinations of broker rows: "<kind>:global" or "<kind>:instance:<name>".
func sinkDestination(kind string, global bool, instance string) string {
	if global {
		return kind + ":global"
	}
	return kind + ":instance:" + instance
}

// parseDestination splits a broker row's destination.
func parseDestination(dst string) (kind string, global bool, instance string, err error) {
	kind, rest, ok := strings.Cut(dst, ":")
	switch {
	case !ok:
	case rest == "global":
		return kind, true, "", nil
	case strings.HasPrefix(rest, "instance:"):
		return kind, false, strings.TrimPrefix(rest, "instance:"), nil
	}
	return "", false, "", fmt.Errorf("destination %q names no broker target", dst)
}

// sinkTargets returns the broker destinations that want an event of an
// instance, in kind order, global before the instance's own.
func (d *Dispatcher) sinkTargetsLocked(event, instanceID, instanceName string) []string {
	var out []string
	for _, kind := range d.sinkKinds {
		s := d.sinks[kind]
		if s.globalOn && (s.global == nil || s.global[event]) {
			out = append(out, sinkDestination(kind, true, ""))
		}
		if set, ok := s.instances[instanceID]; ok && instanceName != "" && (set == nil || set[event]) {
			out = append(out, sinkDestination(kind, false, instanceName))
		}
	}
	return out
}

// setSinksLocked applies an instance's sink settings.
func (d *Dispatcher) setSinksLocked(instanceID string, s storage.InstanceSettings) {
	for _, st := range d.sinks {
		ss := sinkSettings(st.kind, s)
		if ss.Enabled {
			st.instances[instanceID] = eventSet(ss.Events)
		} else {
			delete(st.instances, instanceID)
		}
	}
}

// sinkEnvelope is the body of a broker message: Evolution API's envelope
// for RabbitMQ and NATS, the webhook's without destination.
type sinkEnvelope struct {
	Event     string          `json:"event"`
	Instance  string          `json:"instance"`
	Data      json.RawMessage `json:"data"`
	ServerURL string          `json:"server_url"`
	DateTime  string          `json:"date_time"`
	Sender    string          `json:"sender"`
	APIKey    string          `json:"apikey,omitempty"`
}

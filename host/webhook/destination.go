package webhook

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/wahost/wahost/storage"
)

// Destination is where webhooks go: the global one from the configuration
// or an instance's own from its settings.
type Destination struct {
	// URL is an absolute http or https URL; empty disables the destination.
	URL string
	// Events lists the events to send, in either form Evolution API
	// accepts ("connection.update" or "CONNECTION_UPDATE"); empty sends
	// every event.
	Events []string
	// ByEvents appends "/<event-with-dashes>" to the URL's path, as
	// Evolution API's "webhook by events": connection.update goes to
	// URL + "/connection-update".
	ByEvents bool
	// Headers are sent with every request to this destination (an
	// instance's own; see JWTHeader).
	Headers map[string]string
}

// Validate checks the URL and the event names.
func (d Destination) Validate() error {
	_, err := compile(d)
	return err
}

// EventName returns the wire name of an event given in either of
// Evolution API's forms: "CONNECTION_UPDATE", "connection.update" and
// "connection-update" all give "connection.update".
//
// A name that already has a dot is a wire name and only lower-cased, so
// wahost's own "policy.reload_failed" keeps its underscore.
func EventName(event string) string {
	event = strings.TrimSpace(event)
	if strings.Contains(event, ".") {
		return strings.ToLower(event)
	}
	if lower := strings.ToLower(event); lower == "policy_reload_failed" || lower == "policy-reload-failed" {
		return "policy.reload_failed"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '_' || r == '-':
			return '.'
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, event)
}

// route is a compiled Destination.
type route struct {
	base     *url.URL
	events   map[string]bool // wire names; nil means all
	byEvents bool
	headers  map[string]string
	apiKey   string // the envelope's apikey (an instance's token when exposed)
}

func compile(d Destination) (*route, error) {
	if d.URL == "" {
		return nil, nil
	}
	var names []string
	for _, ev := range d.Events {
		if name := EventName(ev); name != "" {
			names = append(names, name)
		}
	}
	s := storage.InstanceSettings{WebhookURL: d.URL, WebhookEvents: names, WebhookHeaders: d.Headers}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("webhook destination %q: %w (events are names such as connection.update or CONNECTION_UPDATE)", d.URL, err)
	}
	u, err := url.Parse(d.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook destination %q: %w", d.URL, err)
	}
	r := &route{base: u, byEvents: d.ByEvents, headers: d.Headers}
	if len(names) > 0 {
		r.events = make(map[string]bool, len(names))
		for _, name := range names {
			r.events[name] = true
		}
	}
	return r, nil
}

// target returns the URL an event goes to, or "" when the route does not
// want it.
func (r *route) target(event string) string {
	if r == nil || r.events != nil && !r.events[event] {
		return ""
	}
	if !r.byEvents {
		return r.base.String()
	}
	u := *r.base
	suffix := strings.ReplaceAll(event, ".", "-")
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + suffix
	if u.RawPath != "" {
		u.RawPath = strings.TrimSuffix(u.RawPath, "/") + "/" + suffix
	}
	return u.String()
}

// targets returns the distinct URLs of routes that want event: the global
// destination first, then the instance's.
func targets(event string, routes ...*route) []string {
	var out []string
	for _, r := range routes {
		t := r.target(event)
		if t == "" {
			continue
		}
		dup := false
		for _, o := range out {
			dup = dup || o == t
		}
		if !dup {
			out = append(out, t)
		}
	}
	return out
}

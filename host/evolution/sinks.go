package evolution

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/wahost/wahost/storage"
)

// The broker sinks Evolution's /rabbitmq and /nats routes configure.
const (
	SinkRabbitMQ = "rabbitmq"
	SinkNATS     = "nats"
)

// sinkDTO is Evolution's EventDto for one broker (eventSchema).
type sinkDTO struct {
	Enabled *bool    `json:"enabled"`
	Events  []string `json:"events"`
}

// check is eventSchema's check: enabled required, events among Events.
func (d *sinkDTO) check(prefix string) error {
	var msgs []string
	if d.Enabled == nil {
		msgs = append(msgs, prefix+` requires property "enabled"`)
	}
	for i, ev := range d.Events {
		if !knownEvent(ev) {
			msgs = append(msgs, fmt.Sprintf("%s.events[%d] is not one of enum values: %s", prefix, i, strings.Join(Events, ",")))
		}
	}
	if len(msgs) > 0 {
		return invalid(msgs...)
	}
	return nil
}

// settings are the sink settings d asks for, as EventController.set
// keeps them: disabled has no events, enabled with none has all.
func (d *sinkDTO) settings() storage.SinkSettings {
	enabled := d.Enabled == nil || *d.Enabled
	events := d.Events
	switch {
	case !enabled:
		events = nil
	case len(events) == 0:
		events = Events
	}
	wire := make([]string, 0, len(events))
	for _, ev := range events {
		wire = append(wire, WireName(ev))
	}
	return storage.SinkSettings{Enabled: enabled, Events: wire}
}

// sinkRow is Evolution's Rabbitmq or Nats row (prisma), as set and find
// answer.
type sinkRow struct {
	ID         string   `json:"id"`
	Enabled    bool     `json:"enabled"`
	Events     []string `json:"events"`
	CreatedAt  string   `json:"createdAt"`
	UpdatedAt  string   `json:"updatedAt"`
	InstanceID string   `json:"instanceId"`
}

// sinkOf returns the instance's settings for a sink kind.
func sinkOf(kind string, s *storage.InstanceSettings) *storage.SinkSettings {
	if kind == SinkNATS {
		return &s.NATS
	}
	return &s.RabbitMQ
}

// sinkView is find's answer: null when the instance has no settings for
// the broker (a disabled one with no events is kept as none).
func sinkView(inst storage.Instance, set storage.InstanceSettings, kind string) *sinkRow {
	if s := *sinkOf(kind, &set); !s.Enabled && len(s.Events) == 0 {
		return nil
	}
	return sinkRowOf(inst, set, kind)
}

// sinkRowOf is the row of the instance's settings for the broker.
func sinkRowOf(inst storage.Instance, set storage.InstanceSettings, kind string) *sinkRow {
	s := *sinkOf(kind, &set)
	events := make([]string, 0, len(s.Events))
	for _, ev := range s.Events {
		events = append(events, UpperName(ev))
	}
	return &sinkRow{ID: inst.ID, Enabled: s.Enabled, Events: events,
		CreatedAt: jsTime(inst.CreatedAt), UpdatedAt: jsTime(set.UpdatedAt), InstanceID: inst.ID}
}

// sinkRoutes routes /{kind}/set and /{kind}/find for the brokers.
func (s *Server) sinkRoutes() {
	for _, kind := range []string{SinkRabbitMQ, SinkNATS} {
		s.instance("POST /"+kind+"/set/{instance}", func(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
			return s.setSink(w, r, inst, kind)
		})
		s.instance("GET /"+kind+"/find/{instance}", func(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
			return s.findSink(w, r, inst, kind)
		})
	}
}

// configured reports whether the host publishes to the kind of broker:
// as Evolution does when its RABBITMQ_ENABLED (NATS_ENABLED) is false,
// set and find of another answer with an empty body.
func (s *Server) configured(w http.ResponseWriter, kind string, status int) bool {
	if slices.Contains(s.cfg.Brokers, kind) {
		return true
	}
	w.WriteHeader(status)
	return false
}

func (s *Server) setSink(w http.ResponseWriter, r *http.Request, inst storage.Instance, kind string) error {
	var body struct {
		RabbitMQ *sinkDTO `json:"rabbitmq"`
		NATS     *sinkDTO `json:"nats"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	dto := body.RabbitMQ
	if kind == SinkNATS {
		dto = body.NATS
	}
	if dto == nil {
		return invalid(fmt.Sprintf(`instance requires property %q`, kind))
	}
	if err := dto.check(kind); err != nil {
		return err
	}
	if !s.configured(w, kind, http.StatusCreated) {
		return nil
	}
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	*sinkOf(kind, &set) = dto.settings()
	if err := s.cfg.Store.PutSettings(r.Context(), inst.ID, set); err != nil {
		return badRequest(err.Error())
	}
	if set, err = s.cfg.Store.Settings(r.Context(), inst.ID); err != nil {
		return err
	}
	s.cfg.Webhooks.SetInstance(inst.ID, set)
	writeJSON(w, http.StatusCreated, sinkRowOf(inst, set, kind))
	return nil
}

func (s *Server) findSink(w http.ResponseWriter, r *http.Request, inst storage.Instance, kind string) error {
	if !s.configured(w, kind, http.StatusOK) {
		return nil
	}
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sinkView(inst, set, kind))
	return nil
}

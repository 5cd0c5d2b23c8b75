package evolution

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/storage"
)

// webhookDTO is Evolution's webhook settings in a request (EventDto's
// webhook, also create's webhook).
type webhookDTO struct {
	Enabled  *bool             `json:"enabled"`
	URL      *string           `json:"url"`
	Headers  map[string]string `json:"headers"`
	ByEvents bool              `json:"byEvents"`
	Base64   bool              `json:"base64"`
	Events   []string          `json:"events"`
}

// check is webhookSchema's check (webhook.schema.ts): enabled and url
// required and not empty, events among Events.
func (d *webhookDTO) check(prefix string) error {
	var msgs []string
	if d.Enabled == nil {
		msgs = append(msgs, prefix+` requires property "enabled"`)
	}
	if d.URL == nil {
		msgs = append(msgs, prefix+` requires property "url"`)
	} else if *d.URL == "" {
		msgs = append(msgs, `The "url" cannot be empty`)
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

// apply writes the settings into s as Evolution stores them: disabled
// keeps the URL and no events; enabled with no events means all of them.
func (d *webhookDTO) apply(s *storage.InstanceSettings) error {
	url := ""
	if d.URL != nil {
		url = *d.URL
	}
	if err := config.CheckWebhookURL(url); err != nil {
		return badRequest(`Invalid "url" property: ` + err.Error())
	}
	enabled := d.Enabled == nil || *d.Enabled
	events := d.Events
	if enabled && len(events) == 0 {
		events = Events
	}
	if !enabled {
		events = nil
	}
	wire := make([]string, 0, len(events))
	for _, ev := range events {
		wire = append(wire, WireName(ev))
	}
	for name := range d.Headers {
		if strings.TrimSpace(name) == "" {
			return badRequest("webhook.headers: a header needs a name")
		}
	}
	s.WebhookURL, s.WebhookEvents, s.WebhookByEvents = url, wire, d.ByEvents
	s.WebhookHeaders, s.WebhookBase64, s.WebhookDisabled = d.Headers, d.Base64, !enabled
	return nil
}

// webhookRow is Evolution's Webhook row (prisma), as set and find answer.
type webhookRow struct {
	ID              string            `json:"id"`
	URL             string            `json:"url"`
	Headers         map[string]string `json:"headers"`
	Enabled         bool              `json:"enabled"`
	Events          []string          `json:"events"`
	WebhookByEvents bool              `json:"webhookByEvents"`
	WebhookBase64   bool              `json:"webhookBase64"`
	CreatedAt       string            `json:"createdAt"`
	UpdatedAt       string            `json:"updatedAt"`
	InstanceID      string            `json:"instanceId"`
}

func webhookView(inst storage.Instance, s storage.InstanceSettings) *webhookRow {
	if s.WebhookURL == "" {
		return nil
	}
	events := make([]string, 0, len(s.WebhookEvents))
	for _, ev := range s.WebhookEvents {
		events = append(events, UpperName(ev))
	}
	return &webhookRow{
		ID: inst.ID, URL: s.WebhookURL, Headers: s.WebhookHeaders, Enabled: !s.WebhookDisabled, Events: events,
		WebhookByEvents: s.WebhookByEvents, WebhookBase64: s.WebhookBase64,
		CreatedAt: jsTime(inst.CreatedAt), UpdatedAt: jsTime(s.UpdatedAt), InstanceID: inst.ID,
	}
}

func (s *Server) setWebhook(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	var body struct {
		Webhook *webhookDTO `json:"webhook"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Webhook == nil {
		return invalid(`instance requires property "webhook"`)
	}
	if err := body.Webhook.check("webhook"); err != nil {
		return err
	}
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	if err := body.Webhook.apply(&set); err != nil {
		return err
	}
	if err := s.cfg.Store.PutSettings(r.Context(), inst.ID, set); err != nil {
		return badRequest(err.Error())
	}
	if set, err = s.cfg.Store.Settings(r.Context(), inst.ID); err != nil {
		return err
	}
	s.cfg.Webhooks.SetInstance(inst.ID, set)
	writeJSON(w, http.StatusCreated, webhookView(inst, set))
	return nil
}

func (s *Server) findWebhook(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookView(inst, set))
	return nil
}

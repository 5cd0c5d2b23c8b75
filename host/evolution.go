package host

import (
	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/evolution"
)

// newEvolution builds Evolution API's routes on the host's services; Run
// serves them beside /v1.
func (h *Host) newEvolution(cfg *config.Config) (*evolution.Server, error) {
	return evolution.New(evolution.Config{
		Store: h.store, Executor: h.exec, Sessions: sessionsAPI{m: h.sessions, qr: h.qr}, QR: h.qr,
		Webhooks: h.hooks, Messaging: h.messages, MaxSendBody: cfg.Messages.MaxMedia/3*4 + 64<<10, APIKey: h.apiKey, KeepTokens: cfg.Webhook.ExposeAPIKey, MaxBody: cfg.HTTP.MaxBody,
		Now: h.clock.Now, Logger: h.log, Proxies: h.proxies, Brokers: h.brokerKinds,
	})
}

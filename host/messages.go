package host

import (
	"context"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/storage"
)

// newMessaging builds the messaging service on the host's store, sessions
// and webhooks.
func (h *Host) newMessaging(cfg *config.Config) (*messaging.Service, error) {
	m := cfg.Messages
	return messaging.New(messaging.Config{
		Store: h.store, Session: h.sessions, Webhooks: h.hooks, Owns: h.owns,
		Rate: m.Rate, Jitter: m.Jitter, TTL: m.TTL, MaxMedia: m.MaxMedia, MediaTimeout: m.MediaTimeout,
		SendTimeout: m.SendTimeout, RetryDelay: m.RetryDelay, HistoryLimit: m.HistoryLimit,
		Base64: h.webhookBase64, Clock: h.clock, Logger: h.log.With("component", "messaging"), Registerer: h.reg,
	})
}

// webhookBase64 reports whether an instance's webhook settings ask for
// media inline (base64: true).
func (h *Host) webhookBase64(ctx context.Context, inst storage.Instance) bool {
	set, err := h.store.Settings(ctx, inst.ID)
	return err == nil && set.WebhookBase64
}

// traffic hands the sessions' traffic to the messaging service, which is
// built after the session manager it sends through.
type traffic struct{ h *Host }

var _ message.Traffic = traffic{}

func (t traffic) HandleIncoming(ctx context.Context, id string, in message.Incoming) error {
	return t.h.messages.HandleIncoming(ctx, id, in)
}

func (t traffic) HandleReceipt(ctx context.Context, id string, r message.Receipt) error {
	return t.h.messages.HandleReceipt(ctx, id, r)
}

func (t traffic) HandleHistory(ctx context.Context, id string, hist message.History) error {
	return t.h.messages.HandleHistory(ctx, id, hist)
}

// openTap is the sessions' handler with one addition: an instance's
// message queue is woken as soon as its session opens.
type openTap struct {
	tap
	messages *messaging.Service
}

func (t openTap) HandleConnected(ctx context.Context, id string, o executor.Opened) (storage.Instance, error) {
	inst, err := t.tap.HandleConnected(ctx, id, o)
	if err == nil {
		t.messages.Wake(id)
	}
	return inst, err
}

package api

import (
	"testing"

	"github.com/wahost/wahost/storage"
)

// TestUnknownWebhookEventRejected: a filter naming an event the host
// never sends is refused instead of saved and silently never matched.
func TestUnknownWebhookEventRejected(t *testing.T) {
	for _, c := range []struct {
		events []string
		ok     bool
	}{
		{[]string{"CONNECTION_UPDATE", "messages.upsert", "MESSAGES_UPSERT"}, true},
		{[]string{"CONNECTION_UPDTAE"}, false},
		{[]string{"presence.update.typo"}, false},
	} {
		b := settingsBody{Webhook: &webhookBody{Events: c.events}}
		var s storage.InstanceSettings
		if err := b.apply(&s, nil, nil); (err == nil) != c.ok {
			t.Errorf("events %v: err = %v, want ok %v", c.events, err, c.ok)
		}
	}
}

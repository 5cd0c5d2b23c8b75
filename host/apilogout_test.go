package host_test

import (
	"net/http"
	"testing"

	"github.com/wahost/wahost/host/webhook"
)

// TestAPILogoutAndDeleteAnnounce: POST …/logout follows the sequence of a
// logout WhatsApp sends (history row, webhooks, stored status close,
// cleanup), marked as coming from the API; DELETE announces
// remove.instance.
func TestAPILogoutAndDeleteAnnounce(t *testing.T) {
	w := newWorld(t, nil)
	w.pair("leaving")
	if code, body := w.call("POST", "/v1/instances/leaving/logout", nil); code != http.StatusOK || body["status"] != "close" {
		t.Fatalf("logout = %d %v", code, body)
	}
	of := func(e webhook.Envelope) bool { return e.Instance == "leaving" }
	kind, code, d := decided(w.next("disconnect.decided", of))
	if kind != "logged_out" || code != 401 || d["action"] != "logout" {
		t.Fatalf("logout decided as %s %d %v", kind, code, d)
	}
	w.next("logout.instance", of)
	w.next("connection.update", func(e webhook.Envelope) bool { return of(e) && state(e) == "close" })
	w.next("instance.cleanup", of)
	_, inst := w.call("GET", "/v1/instances/leaving", nil)
	if inst["status"] != "close" {
		t.Fatalf("instance after the logout = %v", inst)
	}
	_, hist := w.call("GET", "/v1/instances/leaving/disconnects", nil)
	rows, _ := hist["disconnects"].([]any)
	if len(rows) == 0 || rows[0].(map[string]any)["raw"] != "api logout" {
		t.Fatalf("history = %v, want the newest row from the API", hist)
	}

	if code, body := w.call("DELETE", "/v1/instances/leaving", nil); code != http.StatusOK {
		t.Fatalf("delete = %d %v", code, body)
	}
	w.next("remove.instance", of)
}

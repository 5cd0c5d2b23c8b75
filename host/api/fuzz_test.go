package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
)

// fuzzRoutes are the routes that decode a request body and need no
// session (connect and reconnect decode theirs with the same decode).
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/instances"},
	{"PUT", "/v1/instances/paired/settings"},
	{"POST", "/v1/instances/paired/messages"},
	{"POST", "/v1/instances/paired/contacts/check"},
	{"POST", "/v1/instances/paired/chats/5511000000002@s.whatsapp.net/read"},
	{"POST", "/v1/instances/paired/presence"},
}

// FuzzAPIRequestBodies sends arbitrary bodies to every route that decodes
// one: the API never panics and never answers a body with a server error
// (a body it cannot use is the client's mistake: 4xx).
func FuzzAPIRequestBodies(f *testing.F) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(f.TempDir(), "wahost.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	hooks, err := webhook.New(webhook.Config{Store: st})
	if err != nil {
		f.Fatal(err)
	}
	svc, err := messaging.New(messaging.Config{Store: st, Session: &session{}, Webhooks: hooks, TTL: time.Hour, MaxMedia: 2048})
	if err != nil {
		f.Fatal(err)
	}
	h, err := api.New(api.Config{Store: st, APIKey: "k", Messages: svc, MaxMedia: 2048, Webhooks: hooks, MaxBody: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"paired", "fresh"} {
		inst, err := st.CreateInstance(ctx, storage.Instance{Name: name})
		if err != nil {
			f.Fatal(err)
		}
		if name == "paired" {
			inst.OwnerJID, inst.Status = "5511000000001:2@s.whatsapp.net", storage.StatusConnecting
			if _, err := st.UpdateInstance(ctx, inst); err != nil {
				f.Fatal(err)
			}
		}
	}
	for i, body := range []string{
		`{"name":"fuzzed"}`, `{"webhook":{"url":"https://example.com/h","events":["QRCODE_UPDATED"]},"qr_limit":3}`,
		`{"to":"5511000000002","text":"hi"}`, `{"to":"5511000000002","media":{"kind":"image","base64":"aGk="}}`,
		`{"phones":["5511000000002"]}`, `{"ids":["ABC"]}`, `{"to":"5511000000002","state":"composing"}`,
		`{"phone":"5511000000003"}`, `{}`, ``, `null`, `[]`, `{"name":1e400}`, "{\"name\":\"\xff\"}",
	} {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(body))
		req.Header.Set("apikey", "k")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusBadGateway && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with body %q = %d %s", r.method, r.path, body, rec.Code, rec.Body)
		}
	})
}

package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
)

// session is a message.Session that acknowledges every send and records
// it.
// session is the WhatsApp side of the routes' tests. It holds every send
// until the service stops: the messages stay queued, so their sort keys
// (the creation time until a send's timestamp replaces it) stay put while
// a test pages through them.
type session struct{}

func (s *session) Send(ctx context.Context, _ string, _ message.Outgoing, _ []byte) (message.Sent, error) {
	<-ctx.Done()
	return message.Sent{}, ctx.Err()
}

func (s *session) IsOnWhatsApp(_ context.Context, _ string, phones []string) ([]message.Check, error) {
	out := make([]message.Check, len(phones))
	for i, p := range phones {
		out[i] = message.Check{Query: p, JID: p + "@s.whatsapp.net", Exists: true}
	}
	return out, nil
}

func (s *session) MarkRead(context.Context, string, string, string, []string, time.Time) error {
	return nil
}

func (s *session) SendPresence(context.Context, string, string, message.Presence) error { return nil }

func (s *session) ProfilePictureURL(_ context.Context, _ string, jid string) (string, error) {
	return "https://pps.example/" + jid, nil
}

func (s *session) Download(context.Context, string, json.RawMessage) ([]byte, string, error) {
	return []byte("img"), "image/jpeg", nil
}

type server struct {
	t     *testing.T
	url   string
	store storage.Store
	svc   *messaging.Service
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	hooks, err := webhook.New(webhook.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := messaging.New(messaging.Config{Store: st, Session: &session{}, Webhooks: hooks, TTL: time.Hour, MaxMedia: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	h, err := api.New(api.Config{Store: st, APIKey: "k", Messages: svc, MaxMedia: 2048, Webhooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, name := range []string{"paired", "fresh"} {
		inst, err := st.CreateInstance(ctx, storage.Instance{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if name == "paired" {
			inst.OwnerJID, inst.Status = "5511000000001:2@s.whatsapp.net", storage.StatusConnecting
			if _, err := st.UpdateInstance(ctx, inst); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &server{t: t, url: srv.URL, store: st, svc: svc}
}

func (s *server) do(method, path, body string, header ...string) (int, map[string]any, http.Header) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("apikey", "k")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out, resp.Header
}

func TestSendMessageRoute(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	code, body, hdr := s.do("POST", "/v1/instances/paired/messages", `{"to":"+55 11 99999-0001","text":"hi"}`)
	if code != http.StatusAccepted || body["status"] != "queued" || !strings.HasPrefix(body["id"].(string), "3EB0") ||
		body["chat"] != "5511999990001@s.whatsapp.net" || hdr.Get("Location") == "" {
		t.Fatalf("%d %v", code, body)
	}
	id := body["id"].(string)
	code, again, hdr := s.do("POST", "/v1/instances/paired/messages", `{"to":"5511999990001","text":"x"}`, "Idempotency-Key", "k1")
	if code != http.StatusAccepted {
		t.Fatalf("%d %v", code, again)
	}
	code, replay, hdr := s.do("POST", "/v1/instances/paired/messages", `{"to":"5511999990001","text":"x"}`, "Idempotency-Key", "k1")
	if code != http.StatusAccepted || replay["id"] != again["id"] || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %v %v", code, replay, hdr)
	}

	code, got, _ := s.do("GET", "/v1/instances/paired/messages/"+id, "")
	if code != http.StatusOK || got["id"] != id || got["message"].(map[string]any)["conversation"] != "hi" {
		t.Fatalf("get %d %v", code, got)
	}
	code, list, _ := s.do("GET", "/v1/instances/paired/messages?chat=5511999990001&limit=1", "")
	if code != http.StatusOK || len(list["messages"].([]any)) != 1 || list["next_before"] == nil {
		t.Fatalf("list %d %v", code, list)
	}
	code, page2, _ := s.do("GET", "/v1/instances/paired/messages?limit=5&before="+list["next_before"].(string), "")
	if code != http.StatusOK || len(page2["messages"].([]any)) != 1 {
		t.Fatalf("page 2 %d %v", code, page2)
	}

	img := base64.StdEncoding.EncodeToString([]byte("png-bytes"))
	code, media, _ := s.do("POST", "/v1/instances/paired/messages", `{"to":"5511999990001","image":{"base64":"data:image/png;base64,`+img+`","caption":"c"}}`)
	if code != http.StatusAccepted || media["type"] != "imageMessage" {
		t.Fatalf("image %d %v", code, media)
	}
	req, _ := http.NewRequest("GET", s.url+"/v1/instances/paired/messages/"+media["id"].(string)+"/media", nil)
	req.Header.Set("apikey", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(raw, []byte("png-bytes")) || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("media %d %q %s", resp.StatusCode, raw, resp.Header.Get("Content-Type"))
	}
}

func TestSendMessageRefusals(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	big := base64.StdEncoding.EncodeToString(make([]byte, 2049))
	huge := strings.Repeat("A", 8<<20)
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"unknown instance", "/v1/instances/ghost/messages", `{"to":"5511999990001","text":"x"}`, 404, "ghost"},
		{"never paired", "/v1/instances/fresh/messages", `{"to":"5511999990001","text":"x"}`, 409, "never paired"},
		{"bad number", "/v1/instances/paired/messages", `{"to":"12","text":"x"}`, 400, "to:"},
		{"no content", "/v1/instances/paired/messages", `{"to":"5511999990001"}`, 400, "needs one of"},
		{"two kinds", "/v1/instances/paired/messages", `{"to":"5511999990001","text":"x","location":{"latitude":1,"longitude":2}}`, 400, "text, location"},
		{"unsupported type", "/v1/instances/paired/messages", `{"to":"5511999990001","poll":{}}`, 400, `unknown field \"poll`},
		{"bad base64", "/v1/instances/paired/messages", `{"to":"5511999990001","image":{"base64":"!!"}}`, 400, "image.base64"},
		{"media over max", "/v1/instances/paired/messages", `{"to":"5511999990001","document":{"base64":"` + big + `"}}`, 413, "max_media"},
		{"body over limit", "/v1/instances/paired/messages", `{"to":"5511999990001","document":{"base64":"` + huge + `"}}`, 413, "larger"},
		{"voice note video", "/v1/instances/paired/messages", `{"to":"5511999990001","video":{"url":"https://x/v","voice_note":true}}`, 400, "voice_note"},
		{"no such message", "/v1/instances/paired/messages/3EB0NOPE", "", 404, "3EB0NOPE"},
		{"bad presence", "/v1/instances/paired/presence", `{"presence":"dancing","jid":"5511999990001"}`, 400, "presence"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.body == "" {
				method = "GET"
			}
			code, body, _ := s.do(method, tc.path, tc.body)
			msg, _ := json.Marshal(body)
			if code != tc.code || !strings.Contains(string(msg), tc.want) {
				t.Fatalf("%d %s; want %d mentioning %s", code, msg, tc.code, tc.want)
			}
		})
	}
	inst, err := s.store.InstanceByName(context.Background(), "paired")
	if err != nil {
		t.Fatal(err)
	}
	if list, err := s.store.ListMessages(context.Background(), storage.MessageQuery{InstanceID: inst.ID}); err != nil || len(list) > 0 {
		t.Fatalf("refused requests stored %d messages (%v)", len(list), err)
	}
}

func TestContactAndChatRoutes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	code, body, _ := s.do("POST", "/v1/instances/paired/contacts/check", `{"numbers":["5511999990001"]}`)
	if code != 200 || body["results"].([]any)[0].(map[string]any)["exists"] != true {
		t.Fatalf("check %d %v", code, body)
	}
	code, body, _ = s.do("GET", "/v1/instances/paired/contacts/5511999990001/picture", "")
	if code != 200 || body["url"] != "https://pps.example/5511999990001@s.whatsapp.net" {
		t.Fatalf("picture %d %v", code, body)
	}
	code, body, _ = s.do("POST", "/v1/instances/paired/chats/5511999990001@s.whatsapp.net/read", ``)
	if code != 200 {
		t.Fatalf("read %d %v", code, body)
	}
	code, body, _ = s.do("POST", "/v1/instances/paired/presence", `{"presence":"composing","jid":"5511999990001"}`)
	if code != 200 {
		t.Fatalf("presence %d %v", code, body)
	}
}

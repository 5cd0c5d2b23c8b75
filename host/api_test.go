package host_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// concrete fills a route pattern's parameters.
func concrete(pattern string) string {
	return strings.NewReplacer("{name}", "sales", "{id}", "0195f0a8-1c2d-7e3f-8a9b-0c1d2e3f4a5b").Replace(pattern)
}

func TestAPIAuth(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	h := startHost(t, srv, nil)
	if code, body := h.call("POST", "/v1/instances", map[string]any{"name": "sales"}); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	routes, err := api.New(api.Config{APIKey: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes.Routes() {
		path := concrete(r.Pattern)
		if r.Method == "DELETE" || strings.HasSuffix(path, "/connect") || strings.HasSuffix(path, "/logout") ||
			strings.HasSuffix(path, "/reconnect") || strings.HasSuffix(path, "/reset") {
			// Checked without a key and with a wrong one only: with the
			// right key they act.
			for _, key := range []string{"", "wrong-key"} {
				if code, _ := h.callKey(r.Method, path, nil, key); code != http.StatusUnauthorized {
					t.Errorf("%s %s with key %q = %d, want 401", r.Method, path, key, code)
				}
			}
			continue
		}
		if path == "/v1/events" {
			// The stream does not end: the right key gets its headers.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			req, _ := http.NewRequestWithContext(ctx, "GET", h.base+path, nil)
			req.Header.Set("apikey", apiKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Errorf("GET /v1/events with the key = %v, %v", resp, err)
			}
			cancel()
			if err == nil {
				resp.Body.Close()
			}
		}
		for _, key := range []string{"", "wrong-key", apiKey[:len(apiKey)-1], apiKey + "x"} {
			code, body := h.callKey(r.Method, path, nil, key)
			switch {
			case r.Public && code == http.StatusUnauthorized:
				t.Errorf("public %s %s refused without the key", r.Method, path)
			case !r.Public && code != http.StatusUnauthorized:
				t.Errorf("%s %s with key %q = %d, want 401", r.Method, path, key, code)
			case !r.Public:
				if e, _ := body["error"].(map[string]any); e["code"] != "unauthorized" || !strings.Contains(e["message"].(string), "apikey") {
					t.Errorf("%s %s: 401 body %v does not say how to authenticate", r.Method, path, body)
				}
			}
		}
		if path == "/v1/events" {
			continue
		}
		if code, _ := h.callKey(r.Method, path, nil, apiKey); code == http.StatusUnauthorized {
			t.Errorf("%s %s refused the right key", r.Method, path)
		}
	}
	// A Bearer token works as well as the apikey header.
	req, _ := http.NewRequest("GET", h.base+"/v1/instances", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Bearer token = %d", resp.StatusCode)
	}
}

func TestAPIBadInput(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	h := startHost(t, srv, map[string]any{"http.max_body": 2048})
	if code, body := h.call("POST", "/v1/instances", map[string]any{"name": "sales"}); code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	cases := []struct {
		method, path string
		body         any
		status       int
		says         string
	}{
		{"POST", "/v1/instances", nil, 400, "needs a JSON body"},
		{"POST", "/v1/instances", "{", 400, "malformed JSON"},
		{"POST", "/v1/instances", `{"name":"a"} {"name":"b"}`, 400, "more than one JSON value"},
		{"POST", "/v1/instances", map[string]any{"name": ""}, 400, "name"},
		{"POST", "/v1/instances", map[string]any{"name": "has space"}, 400, "name"},
		{"POST", "/v1/instances", map[string]any{"name": "x", "color": "red"}, 400, "unknown field"},
		{"POST", "/v1/instances", map[string]any{"name": "sales"}, 409, "exists already"},
		{"POST", "/v1/instances", map[string]any{"name": "y", "webhook": map[string]any{"url": "ftp://x/y"}}, 400, "webhook.url"},
		{"POST", "/v1/instances", map[string]any{"name": "y", "webhook": map[string]any{"url": "https://u:p@x/y"}}, 400, "credentials"},
		{"POST", "/v1/instances", map[string]any{"name": "y", "qr_limit": -1}, 400, "qr_limit"},
		{"POST", "/v1/instances", `{"name":"` + strings.Repeat("a", 4096) + `"}`, 413, "larger than 2048"},
		{"GET", "/v1/instances/nobody", nil, 404, `no instance named "nobody"`},
		{"GET", "/v1/instances/bad%20name", nil, 400, "instance name"},
		{"POST", "/v1/instances/sales/connect", map[string]any{"phone": "12ab"}, 400, "phone"},
		{"POST", "/v1/instances/sales/connect", map[string]any{"phone": "1"}, 400, "international"},
		{"POST", "/v1/instances/sales/reconnect", map[string]any{"clean": "yes"}, 400, "malformed JSON"},
		{"GET", "/v1/instances/sales/disconnects?limit=0", nil, 400, "limit"},
		{"GET", "/v1/instances/sales/disconnects?before=x", nil, 400, "before"},
		{"GET", "/v1/instances/sales/qr", nil, 404, "connect first"},
		{"PUT", "/v1/instances/sales/settings", nil, 400, "needs a JSON body"},
		{"PUT", "/v1/instances/sales/settings", map[string]any{"qr_limit": 5000}, 400, "qr_limit"},
		{"PUT", "/v1/instances/sales/settings", map[string]any{"webhook": map[string]any{"url": "not a url"}}, 400, "webhook.url"},
		{"PUT", "/v1/instances/sales/settings", map[string]any{"webhook": map[string]any{"url": "http://h/x", "events": []string{""}}}, 400, "webhook.events"},
		{"PUT", "/v1/instances/sales/settings", map[string]any{"policy": "nope"}, 400, "policy.overrides"},
		{"GET", "/v1/webhooks/failed?instance=nobody", nil, 404, "nobody"},
		{"GET", "/v1/webhooks/failed?limit=abc", nil, 400, "limit"},
		{"POST", "/v1/webhooks/short/redeliver", nil, 400, "not a UUID"},
		{"POST", "/v1/webhooks/0195f0a8-1c2d-7e3f-8a9b-0c1d2e3f4a5b/redeliver", nil, 404, "not found"},
		{"GET", "/v1/nothing-here", nil, 404, "openapi.yaml"},
	}
	for _, c := range cases {
		code, body := h.call(c.method, c.path, c.body)
		e, _ := body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != c.status || !strings.Contains(msg, c.says) {
			t.Errorf("%s %s %v = %d %v; want %d saying %q", c.method, c.path, c.body, code, body, c.status, c.says)
		}
	}
	// Nothing above changed the instance.
	code, inst := h.call("GET", "/v1/instances/sales", nil)
	if code != http.StatusOK || inst["status"] != "close" {
		t.Fatalf("instance after bad requests = %d %v", code, inst)
	}
	if code, list := h.call("GET", "/v1/instances", nil); code != http.StatusOK || len(list["instances"].([]any)) != 1 {
		t.Fatalf("instances after bad requests = %d %v", code, list)
	}
}

func TestAPISettingsAndPolicy(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	h := startHost(t, srv, nil)
	h.call("POST", "/v1/instances", map[string]any{"name": "sales", "qr_limit": 3})
	code, set := h.call("PUT", "/v1/instances/sales/settings", map[string]any{
		"webhook": map[string]any{"url": "https://app.example/hooks", "events": []string{"CONNECTION_UPDATE", "qrcode.updated"}, "by_events": true},
	})
	hook, _ := set["webhook"].(map[string]any)
	if code != http.StatusOK || set["qr_limit"] != float64(3) || hook["url"] != "https://app.example/hooks" || hook["by_events"] != true ||
		fmt.Sprint(hook["events"]) != "[connection.update qrcode.updated]" {
		t.Fatalf("settings = %d %v", code, set)
	}
	code, st := h.call("GET", "/v1/policy", nil)
	active, _ := st["active"].(map[string]any)
	if code != http.StatusOK || active["module"] != "builtin:default" || len(active["sha256"].(string)) != 64 {
		t.Fatalf("policy = %d %v", code, st)
	}
	code, r := h.call("POST", "/v1/policy/reload", nil)
	if code != http.StatusOK || r["ok"] != true || r["changed"] != false || r["trigger"] != "api" {
		t.Fatalf("reload = %d %v", code, r)
	}
	if code, d := h.call("GET", "/v1/policy/shadow", nil); code != http.StatusOK || len(d["diffs"].([]any)) != 0 {
		t.Fatalf("shadow = %d %v", code, d)
	}
	code, del := h.call("DELETE", "/v1/instances/sales", nil)
	if code != http.StatusOK || del["deleted"] != "sales" {
		t.Fatalf("delete = %d %v", code, del)
	}
	if code, _ := h.call("GET", "/v1/instances/sales", nil); code != http.StatusNotFound {
		t.Fatalf("deleted instance = %d", code)
	}
}

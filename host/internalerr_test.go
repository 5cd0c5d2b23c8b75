package host_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/internal/tcpproxy"
	"github.com/wahost/wahost/storage/testenv"
)

// TestInternalErrorsHideTheDatabase: with PostgreSQL cut, both the API
// and Evolution's routes answer 500 without the driver's text (which
// names the database's host and port), the API with an error id.
func TestInternalErrorsHideTheDatabase(t *testing.T) {
	u, err := url.Parse(testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	h := startHost(t, wafaketest.NewServer(t, wafake.Config{}), map[string]any{
		"database.url": u.String(), "database.schema": testenv.Name("wahost_test_"),
	})
	// On PostgreSQL the pool is reported too.
	resp, err := http.Get(h.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`wahost_store_pool_connections{state="max"}`, `wahost_store_pool_connections{state="in_use"}`, "wahost_store_pool_waits_total"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	proxy.Cut()
	defer proxy.Restore()

	for range 2 { // the pooled connection cut, then a refused dial
		code, body := h.call("GET", "/v1/instances", nil)
		e, _ := body["error"].(map[string]any)
		if code != 500 || e["code"] != "internal" || e["message"] != "internal error" || e["id"] == "" {
			t.Fatalf("GET /v1/instances = %d %v; want 500, internal error, an id", code, body)
		}
		code, raw := evoCall(t, h, "GET", "/instance/fetchInstances", apiKey, nil)
		if code != 500 || !strings.Contains(string(raw), "internal error (id ") {
			t.Fatalf("fetchInstances = %d %s; want 500 with an error id", code, raw)
		}
		if strings.Contains(string(raw), proxy.Addr()) || strings.Contains(string(raw), "dial") {
			t.Fatalf("fetchInstances gives the database away: %s", raw)
		}
	}
}

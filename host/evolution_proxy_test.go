package host_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestEvolutionCreateWithProxy: the proxy fields of Evolution's create
// body (proxyHost, proxyPort, proxyProtocol, proxyUsername,
// proxyPassword) become the instance's proxy setting, as POST /proxy/set
// would set it; a bad one refuses the create with one clear error and no
// instance. The password is answered as *** only.
func TestEvolutionCreateWithProxy(t *testing.T) {
	srv := wafaketest.NewServer(t, wafake.Config{})
	h := startHost(t, srv, map[string]any{"proxies.pools.main": []string{"http://relay:" + proxyPassword + "@127.0.0.1:3128"}})
	find := func(name string) map[string]any {
		t.Helper()
		code, raw := evoCall(t, h, "GET", "/proxy/find/"+name, apiKey, nil)
		var row map[string]any
		if code != http.StatusOK || json.Unmarshal(raw, &row) != nil {
			t.Fatalf("GET /proxy/find/%s = %d %s", name, code, raw)
		}
		if strings.Contains(string(raw), proxyPassword) || strings.Contains(string(raw), "s0cks-pw") {
			t.Fatalf("GET /proxy/find/%s answers the password: %s", name, raw)
		}
		return row
	}

	code, raw := evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{
		"instanceName": "via-socks", "qrcode": false, "proxyHost": "10.0.0.8", "proxyPort": "1080",
		"proxyProtocol": "socks5", "proxyUsername": "relay", "proxyPassword": "s0cks-pw",
	})
	if code != http.StatusCreated || strings.Contains(string(raw), "s0cks-pw") {
		t.Fatalf("create with a proxy = %d %s", code, raw)
	}
	if row := find("via-socks"); row["enabled"] != true || row["host"] != "10.0.0.8" || row["port"] != "1080" ||
		row["protocol"] != "socks5" || row["username"] != "relay" || row["password"] != "***" {
		t.Fatalf("proxy of via-socks = %v", row)
	}
	code, raw = evoCall(t, h, "GET", "/v1/instances/via-socks/settings", apiKey, nil)
	if code != http.StatusOK || !strings.Contains(string(raw), `"proxy":"socks5://relay:***@10.0.0.8:1080"`) {
		t.Fatalf("wahost's settings of via-socks = %d %s", code, raw)
	}

	code, raw = evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{
		"instanceName": "via-pool", "proxyHost": "main", "proxyProtocol": "pool",
	})
	if code != http.StatusCreated {
		t.Fatalf("create in a pool = %d %s", code, raw)
	}
	if row := find("via-pool"); row["host"] != "main" || row["protocol"] != "pool" {
		t.Fatalf("proxy of via-pool = %v", row)
	}

	code, raw = evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{
		"instanceName": "direct", "proxyHost": "", "proxyPort": "", "proxyProtocol": "",
	})
	if code != http.StatusCreated || find("direct")["enabled"] != false {
		t.Fatalf("create with empty proxy fields = %d %s", code, raw)
	}

	for name, body := range map[string]map[string]any{
		"socks4":       {"proxyHost": "10.0.0.8", "proxyPort": "1080", "proxyProtocol": "socks4"},
		"no port":      {"proxyHost": "10.0.0.8", "proxyProtocol": "http"},
		"no protocol":  {"proxyHost": "10.0.0.8", "proxyPort": "3128"},
		"unknown pool": {"proxyHost": "nope", "proxyProtocol": "pool"},
	} {
		body["instanceName"] = "bad"
		code, raw := evoCall(t, h, "POST", "/instance/create", apiKey, body)
		expect(t, "create with a proxy of "+name, code, raw, "error", http.StatusBadRequest)
		if !strings.Contains(string(raw), "proxy") {
			t.Errorf("%s: the error does not name the proxy: %s", name, raw)
		}
	}
	if code, _ := evoCall(t, h, "GET", "/instance/connectionState/bad", apiKey, nil); code != http.StatusNotFound {
		t.Fatalf("a refused create left an instance: %d", code)
	}
}

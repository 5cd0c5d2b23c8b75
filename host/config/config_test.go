package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.Policy.Module != "builtin:default" || c.DataDir != "./data" {
		t.Fatalf("unexpected defaults %+v", c)
	}
	if c.Policy.CacheDir != filepath.Join("data", "compiled") {
		t.Fatalf("cache dir %q", c.Policy.CacheDir)
	}
	if string(c.PolicySettings()) != "{}" {
		t.Fatalf("settings %s", c.PolicySettings())
	}
}

func TestPrecedenceFileEnvFlags(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wahost.yaml")
	yaml := `
data_dir: /var/lib/wahost
http:
  addr: 0.0.0.0:9000
policy:
  timeout: 250ms
  max_delay: 48h
  settings:
    max_attempts: 8
    delays_ms: {428: 1000}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"WAHOST_HTTP_ADDR=127.0.0.1:9100", "WAHOST_POLICY_MAX_DELAY=72h",
		"WAHOST_POLICY_POOL_SIZE=2", "HOME=/root",
	}
	flags := map[string]any{"http.addr": "127.0.0.1:9200"}
	c, err := config.Load(path, env, flags)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/wahost" || c.HTTP.Addr != "127.0.0.1:9200" || c.Policy.Timeout != 250*time.Millisecond ||
		c.Policy.MaxDelay != 72*time.Hour || c.Policy.PoolSize != 2 {
		t.Fatalf("precedence wrong: %+v", c)
	}
	if s := string(c.PolicySettings()); !strings.Contains(s, `"max_attempts":8`) || !strings.Contains(s, `"428":1000`) {
		t.Fatalf("settings %s", s)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		want  string
		isKey bool
	}{
		{"bad addr", []string{"WAHOST_HTTP_ADDR=nope"}, "http.addr", true},
		{"bad level", []string{"WAHOST_LOG_LEVEL=loud"}, "log.level", true},
		{"bad sha", []string{"WAHOST_POLICY_SHA256=xyz"}, "policy.sha256", true},
		{"bad pages", []string{"WAHOST_POLICY_MEMORY_PAGES=1"}, "policy.memory_pages", true},
		{"bad settings", []string{"WAHOST_POLICY_SETTINGS=[1]"}, "policy.settings", true},
		{"bad duration", []string{"WAHOST_POLICY_TIMEOUT=soon"}, "timeout", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load("", tt.env, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v does not name %s", err, tt.want)
			}
			var ke *config.KeyError
			if tt.isKey && !errors.As(err, &ke) {
				t.Fatalf("error %v is not a KeyError", err)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "absent.yaml"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("error %v", err)
	}
}

func TestUnknownKeyInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wahost.yaml")
	yaml := "http:\n  adr: 0.0.0.0:9000\npolicy:\n  settings:\n    anything_goes: 1\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path, nil, nil)
	var ke *config.KeyError
	if !errors.As(err, &ke) || ke.Key != "http.adr" {
		t.Fatalf("error %v does not name http.adr", err)
	}
}

func TestEnvironment(t *testing.T) {
	env := []string{
		"WAHOST_API_KEY=secret-key", "WAHOST_WEBHOOK_EVENTS=connection.update,QRCODE_UPDATED",
		"WAHOST_WEBHOOK_URL=https://app.internal/hooks", "WAHOST_DATABASE_URL=postgres://u@db:5432/wahost",
		"WAHOST_CACHE_REDIS_ADDR=redis:6379", "WAHOST_SESSION_QR_LIMIT=5", "WAHOST_RECONNECT_RATE=2.5",
		"WAHOST_TEST_POSTGRES_URL=ignored",
	}
	c, err := config.Load("", env, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.APIKey != "secret-key" || c.Webhook.URL != "https://app.internal/hooks" ||
		strings.Join(c.Webhook.Events, "|") != "connection.update|QRCODE_UPDATED" ||
		c.Database.URL != "postgres://u@db:5432/wahost" || c.Cache.RedisAddr != "redis:6379" ||
		c.Session.QRLimit != 5 || c.Reconnect.Rate != 2.5 {
		t.Fatalf("environment not applied: %+v", c)
	}
}

func TestWebhookURLChecked(t *testing.T) {
	for _, u := range []string{"ftp://x/y", "not a url", "http://", "https://user:pw@host/x"} {
		_, err := config.Load("", []string{"WAHOST_WEBHOOK_URL=" + u}, nil)
		var ke *config.KeyError
		if !errors.As(err, &ke) || ke.Key != "webhook.url" {
			t.Errorf("%q: error %v does not name webhook.url", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: error leaks the password: %v", u, err)
		}
	}
}

// TestEveryKeyDocumented keeps docs/config.md in step with the keys.
func TestEveryKeyDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "config.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range config.Keys() {
		if !strings.Contains(string(doc), "`"+key+"`") {
			t.Errorf("docs/config.md does not document %s", key)
		}
	}
}

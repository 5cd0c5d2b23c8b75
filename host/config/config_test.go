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

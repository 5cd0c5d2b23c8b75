package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wahost/wahost/host/config"
)

// FuzzLoad feeds arbitrary YAML and an arbitrary WAHOST_ variable to the
// loader: it never panics, whatever it accepts validates, and whatever it
// refuses is a configuration error (a start exits 2 naming the key or the
// file).
func FuzzLoad(f *testing.F) {
	for _, seed := range []struct{ yaml, env string }{
		{"http:\n  addr: 127.0.0.1:8080\n", "WAHOST_LOG_LEVEL=debug"},
		{"webhook:\n  workers: many\n", "WAHOST_WEBHOOK_EVENTS=connection.update,qrcode.updated"},
		{"policy:\n  settings: {a: 1}\n  overrides: {x: {module: builtin:default}}\n", `WAHOST_POLICY_SETTINGS={"a":1}`},
		{"htp: [\n", "WAHOST_POLICY_SETTINGS=[1]"},
		{"database:\n  max_conns: -1\n", "WAHOST_HTTP_MAX_BODY=1e99"},
		{"session: {qr_limit: 1.5}\n", "WAHOST_SESSION_CONNECT_TIMEOUT=forever"},
		{"", ""},
	} {
		f.Add(seed.yaml, seed.env)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, yaml, env string) {
		path := filepath.Join(dir, "wahost.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, []string{env}, nil)
		if err != nil {
			if !config.IsConfigError(err) {
				t.Fatalf("Load refused %q / %q with %v, which names no key or file", yaml, env, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Load accepted %q / %q, which does not validate: %v", yaml, env, err)
		}
	})
}

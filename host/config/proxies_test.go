package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/config"
)

func TestProxiesKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wahost.yaml")
	yaml := `proxies:
  default: main
  pools:
    main: ["http://alice:s3cret@10.0.0.1:3128", "socks5://10.0.0.2:1080"]
    eu: ["https://10.0.0.3:443"]
  breaker:
    failures: 2
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path, []string{"WAHOST_PROXIES_BREAKER_COOL_DOWN=45s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Proxies
	if p.Default != "main" || len(p.Pools["main"]) != 2 || len(p.Pools["eu"]) != 1 ||
		p.Breaker.Failures != 2 || p.Breaker.CoolDown != 45*time.Second || p.Breaker.Window != 2*time.Minute {
		t.Fatalf("proxies %+v", p)
	}
	for name, body := range map[string]string{
		"bad scheme":      "proxies:\n  pools:\n    p: [\"ftp://alice:s3cret@h:1\"]\n",
		"unknown default": "proxies:\n  default: nope\n",
		"bad default":     "proxies:\n  default: \"http://alice:s3cret@h\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path, nil, nil)
			if err == nil || !strings.Contains(err.Error(), "proxies.") || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err %v, want a proxies key error without the password", err)
			}
		})
	}
}

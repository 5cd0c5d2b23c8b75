package proxy_test

import (
	"strings"
	"testing"

	"github.com/wahost/wahost/host/proxy"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw, id, masked, err string
	}{
		{raw: "http://10.0.0.1:3128", id: "http://10.0.0.1:3128", masked: "http://10.0.0.1:3128"},
		{raw: "HTTPS://u:p@proxy.example:443", id: "https://proxy.example:443", masked: "https://u:***@proxy.example:443"},
		{raw: "socks5://bob:s3cret@127.0.0.1:1080", id: "socks5://127.0.0.1:1080", masked: "socks5://bob:***@127.0.0.1:1080"},
		{raw: "socks5://bob@127.0.0.1:1080", id: "socks5://127.0.0.1:1080", masked: "socks5://bob@127.0.0.1:1080"},
		{raw: "ftp://u:s3cret@h:21", err: "scheme"},
		{raw: "http://u:s3cret@h", err: "host:port"},
		{raw: "http://u:s3cret@h:1/path", err: "path"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			e, err := proxy.Parse(tc.raw)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("err %v, want one mentioning %q without the password", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.ID() != tc.id || e.String() != tc.masked {
				t.Fatalf("ID %q String %q, want %q %q", e.ID(), e.String(), tc.id, tc.masked)
			}
			back, err := proxy.Parse(e.URL())
			if err != nil || back != e {
				t.Fatalf("URL round trip: %v %v", back, err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	in := `dial "socks5://bob:s3cret@h:1" and http://a:b@c:2/x then https://plain:3`
	want := `dial "socks5://bob:***@h:1" and http://a:***@c:2/x then https://plain:3`
	if got := proxy.Mask(in); got != want {
		t.Fatalf("Mask:\n got %s\nwant %s", got, want)
	}
}

package wafake_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/socket"

	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
)

// TestConnectErrors checks what Connect returns for each network cause.
func TestConnectErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		client func(t *testing.T) *http.Client
		check  func(t *testing.T, err error)
	}{
		{
			name: "refused",
			client: func(t *testing.T) *http.Client {
				addr, err := wafake.RefusingAddr()
				if err != nil {
					t.Fatal(err)
				}
				return wafake.HTTPClientTo(addr, 0)
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("err = %v, want ECONNREFUSED", err)
				}
			},
		},
		{
			name:   "dns failure",
			client: func(*testing.T) *http.Client { return wafake.DNSFailureHTTPClient() },
			check: func(t *testing.T, err error) {
				var dnsErr *net.DNSError
				if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound || dnsErr.Name != "web.whatsapp.com" {
					t.Errorf("err = %v, want *net.DNSError not found for web.whatsapp.com", err)
				}
			},
		},
		{
			name: "timeout",
			client: func(t *testing.T) *http.Client {
				bh, err := wafake.NewBlackHole()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = bh.Close() })
				return wafake.HTTPClientTo(bh.Addr(), 200*time.Millisecond)
			},
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want context.DeadlineExceeded", err)
				}
			},
		},
		{
			name: "http status",
			client: func(t *testing.T) *http.Client {
				ss, err := wafake.NewStatusServer(http.StatusServiceUnavailable)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = ss.Close() })
				return wafake.HTTPClientTo(ss.Addr(), 0)
			},
			check: func(t *testing.T, err error) {
				var status socket.ErrWithStatusCode
				if !errors.As(err, &status) || status.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("err = %v, want socket.ErrWithStatusCode 503", err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dev := wafaketest.LinkedDevice(t, wafake.NewPhone("15550001234"))
			cli, _ := wafaketest.NewClientVia(t, dev, tc.client(t))
			err := cli.Connect()
			if err == nil {
				t.Fatal("Connect succeeded")
			}
			tc.check(t, err)
		})
	}
}

package proxy_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/proxy/proxytest"
)

// echo listens on loopback and echoes one line per connection.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func TestDialThroughRealProxies(t *testing.T) {
	target := echo(t)
	for _, kind := range []string{proxytest.HTTP, proxytest.SOCKS5} {
		for _, auth := range []bool{false, true} {
			name := kind + map[bool]string{false: "/open", true: "/credentials"}[auth]
			t.Run(name, func(t *testing.T) {
				user, pass := "", ""
				if auth {
					user, pass = "alice", "pa55-word"
				}
				srv := proxytest.Start(t, kind, user, pass)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := proxy.Dial(ctx, proxy.MustParse(srv.URL()), nil, target)
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if _, err := c.Write([]byte("ping\n")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 5)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
					t.Fatalf("echo through the proxy: %q, %v", buf, err)
				}
				if !auth {
					return
				}
				_, err = proxy.Dial(ctx, proxy.MustParse(srv.URLWith(user, "wrong-pass")), nil, target)
				if !errors.Is(err, proxy.ErrAuth) || proxy.StageOf(err) != proxy.StageAuth {
					t.Fatalf("wrong password: %v (stage %q), want ErrAuth", err, proxy.StageOf(err))
				}
				if strings.Contains(err.Error(), "wrong-pass") {
					t.Fatalf("the error quotes the password: %v", err)
				}
			})
		}
	}
}

func TestDialStages(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := free.Addr().String()
	free.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, kind := range []string{proxytest.HTTP, proxytest.SOCKS5} {
		t.Run(kind, func(t *testing.T) {
			srv := proxytest.Start(t, kind, "", "")
			_, err := proxy.Dial(ctx, proxy.MustParse(srv.URL()), nil, dead)
			if proxy.StageOf(err) != proxy.StageTarget {
				t.Fatalf("target refused: %v (stage %q), want %q", err, proxy.StageOf(err), proxy.StageTarget)
			}
			_, err = proxy.Dial(ctx, proxy.MustParse(kind+"://"+dead), nil, echo(t))
			if proxy.StageOf(err) != proxy.StageProxy || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("proxy refused: %v (stage %q), want %q and ECONNREFUSED", err, proxy.StageOf(err), proxy.StageProxy)
			}
		})
	}
}

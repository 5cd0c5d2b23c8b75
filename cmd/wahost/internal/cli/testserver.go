//go:build wahost_testserver

package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/wahost/wahost/host"
	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/wafake"
)

// This file exists only in binaries built with -tags wahost_testserver:
// they can run a fake WhatsApp server (wahost testserver) and point serve
// at one (--test-server). A normal build cannot be told to trust another
// server's certificates.

func init() {
	serveExtensions = append(serveExtensions, testServerFlags)
	extraCommands = append(extraCommands, command{
		"testserver", "run a fake WhatsApp server for end-to-end tests (test build only)", runTestServer,
	})
}

// testServerFlags adds --test-server and --test-server-root-key to serve.
func testServerFlags(fs *flag.FlagSet) func(*host.Options) error {
	addr := fs.String("test-server", "", "dial this fake WhatsApp server (wahost testserver) instead of WhatsApp")
	key := fs.String("test-server-root-key", "", "the fake server's certificate root private key, as wahost testserver prints it")
	return func(o *host.Options) error {
		if *addr == "" {
			return nil
		}
		priv, err := parseRootKey(*key)
		if err != nil {
			return fmt.Errorf("--test-server-root-key: %w", err)
		}
		if err := wafake.SetRootKey(priv); err != nil && !errors.Is(err, wafake.ErrRootKeyInUse) {
			return err
		}
		if wafake.RootPublicKey() != wafake.PublicKeyOf(priv) {
			return errors.New("--test-server-root-key: this process already uses another root key")
		}
		wafake.InstallRootKey()
		o.WhatsAppClient = wafake.HTTPClientTo(*addr, 20*time.Second)
		o.ProbeAddr = *addr
		// A session's proxy carries it to the fake server: the tunnel
		// is asked for the server's address instead of WhatsApp's.
		target := *addr
		o.ProxyClient = func(ep proxy.Endpoint) *http.Client { return proxy.HTTPClientTo(ep, target, 20*time.Second) }
		return nil
	}
}

func parseRootKey(s string) (priv [32]byte, err error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return priv, errors.New("want 64 hex digits")
	}
	copy(priv[:], b)
	return priv, nil
}

// runTestServer runs a fake WhatsApp server until interrupted and prints
// what serve needs to reach it.
func runTestServer(ctx context.Context, args []string, stdio Stdio) int {
	fs := newFlags("wahost testserver", "wahost testserver [--addr HOST:PORT] [--root-key HEX]", stdio)
	addr := fs.String("addr", "127.0.0.1:0", "where to listen")
	key := fs.String("root-key", "", "certificate root private key, 64 hex digits (default: a new random one)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	var priv [32]byte
	if *key == "" {
		_, _ = rand.Read(priv[:])
	} else {
		var err error
		if priv, err = parseRootKey(*key); err != nil {
			fmt.Fprintf(stdio.Err, "wahost testserver: --root-key: %v\n", err)
			return exitUsage
		}
	}
	if err := wafake.SetRootKey(priv); err != nil {
		fmt.Fprintf(stdio.Err, "wahost testserver: %v\n", err)
		return exitFail
	}
	srv, err := wafake.NewServer(wafake.Config{Addr: *addr})
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost testserver: %v\n", err)
		return exitFail
	}
	defer srv.Close()
	fmt.Fprintf(stdio.Out, "addr=%s\nroot_key=%s\n\nwahost serve --test-server %s --test-server-root-key %s\n",
		srv.Addr(), hex.EncodeToString(priv[:]), srv.Addr(), hex.EncodeToString(priv[:]))
	<-ctx.Done()
	return exitOK
}

package wafake_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types/events"
	_ "modernc.org/sqlite"

	"github.com/wahost/wahost/host/wafake"
)

// A linked device logs in to the fake server, which then bans the account
// on the next connection.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "wafake-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	container, err := sqlstore.New(ctx, "sqlite", "file:"+filepath.Join(dir, "wa.db")+"?_pragma=foreign_keys(1)", nil)
	if err != nil {
		panic(err)
	}
	defer container.Close()

	// Closed before the store, so the client's connection ends first.
	srv, err := wafake.NewServer(wafake.Config{}) // default script: Auto
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.Enqueue(wafake.Success(), wafake.TemporaryBan(101, 24*time.Hour))

	dev := container.NewDevice()
	jid, err := wafake.NewPhone("15550001234").Link(ctx, dev)
	if err != nil {
		panic(err)
	}
	cli := whatsmeow.NewClient(dev, nil)
	cli.EnableAutoReconnect = false
	cli.DisableLoginAutoReconnect = true
	cli.RefreshCAT = func(context.Context) error { return errors.New("unsupported") }
	wafake.Route(cli, srv.HTTPClient())

	evts := make(chan any, 16)
	cli.AddEventHandler(func(evt any) {
		switch evt.(type) {
		case *events.Connected, *events.Disconnected, *events.TemporaryBan:
			evts <- evt
		}
	})
	next := func() any {
		select {
		case evt := <-evts:
			return evt
		case <-time.After(10 * time.Second):
			return "timed out"
		}
	}

	if err := cli.Connect(); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %T\n", jid, next())
	// The server drops this connection: whatsmeow reports Disconnected, after
	// which connecting again is safe.
	first, err := srv.Accept(ctx)
	if err != nil {
		panic(err)
	}
	<-first.ScriptDone()
	first.Drop()
	fmt.Printf("%T\n", next())

	if err := cli.Connect(); err != nil {
		panic(err)
	}
	if ban, ok := next().(*events.TemporaryBan); ok {
		fmt.Println("banned:", ban.Code, ban.Expire)
	}
	second, err := srv.Accept(ctx)
	if err != nil {
		panic(err)
	}
	<-second.ScriptDone()

	// Output:
	// 15550001234:1@s.whatsapp.net: *events.Connected
	// *events.Disconnected
	// banned: 101: you sent too many messages to people who don't have you in their address books 24h0m0s
}

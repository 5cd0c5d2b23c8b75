// Command wahost runs WhatsApp Web sessions and asks a WebAssembly policy
// what to do on every disconnect. `wahost help` lists its commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wahost/wahost/cmd/wahost/internal/cli"
)

func main() {
	// SIGHUP reloads once the host runs; until then it must not end the
	// process (its default action), so it is caught from the first moment.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}

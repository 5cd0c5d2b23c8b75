// Package cli implements the wahost command line. Run is the whole program
// behind a testable signature: arguments and streams in, exit code out.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Stdio are the streams a command reads and writes.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and found a problem (a fault, a failed test)
	exitUsage = 2 // the command line was wrong
)

// errUsage marks errors in the command line; the command's usage follows.
var errUsage = errors.New("usage")

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, io Stdio) int
}

// extraCommands are added by some builds (the test-server build).
var extraCommands []command

func commands() []command {
	return append([]command{
		{"serve", "run the sidecar (the default command)", runServe},
		{"policy", "evaluate, test, check, benchmark and replay policy modules", runPolicy},
		{"version", "print the version", runVersion},
	}, extraCommands...)
}

// Run runs the wahost command line.
func Run(ctx context.Context, args []string, stdio Stdio) int {
	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-' && args[0] != "-h" && args[0] != "--help") {
		return runServe(ctx, args, stdio)
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdio.Out)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdio)
		}
	}
	fmt.Fprintf(stdio.Err, "wahost: unknown command %q\n\n", args[0])
	usage(stdio.Err)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: wahost [command] [flags]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'wahost COMMAND -h' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, usageLine string, stdio Stdio) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	fs.Usage = func() {
		fmt.Fprintf(stdio.Err, "Usage: %s\n\nFlags:\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and reports whether the command should go on, and if
// not, with which exit code.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

func runVersion(_ context.Context, _ []string, stdio Stdio) int {
	fmt.Fprintln(stdio.Out, "wahost", Version())
	return exitOK
}

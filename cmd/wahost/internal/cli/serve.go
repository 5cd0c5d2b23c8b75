package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wahost/wahost/host"
)

// serveExtensions add flags to serve in some builds (the test-server
// build, see testserver.go); each returns what to apply to the host's
// options once the flags are parsed.
var serveExtensions []func(fs *flag.FlagSet) func(*host.Options) error

// runServe runs the sidecar until ctx ends (SIGINT, SIGTERM). SIGHUP
// reloads the config and the policy.
func runServe(ctx context.Context, args []string, stdio Stdio) int {
	fs := newFlags("serve", "wahost serve [--check] [--config FILE] [--addr HOST:PORT] [--data-dir DIR] [--policy REF]", stdio)
	check := fs.Bool("check", false, "check the config and open every dependency as serve would, then exit: 0 ok, 1 a dependency unreachable, 2 the configuration is wrong")
	configPath := fs.String("config", os.Getenv("WAHOST_CONFIG"), "YAML config file (default: the embedded defaults; env WAHOST_CONFIG)")
	addr := fs.String("addr", "", "listen address of the API (http.addr)")
	dataDir := fs.String("data-dir", "", "data directory (data_dir)")
	module := fs.String("policy", "", "policy module: a .wasm file or builtin:default (policy.module)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (log.level)")
	var extend []func(*host.Options) error
	for _, ext := range serveExtensions {
		extend = append(extend, ext(fs))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stdio.Err, "wahost serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	flags := map[string]any{}
	set := func(key, v string) {
		if v != "" {
			flags[key] = v
		}
	}
	set("http.addr", *addr)
	set("data_dir", *dataDir)
	set("policy.module", *module)
	set("log.level", *logLevel)

	opts := host.Options{ConfigPath: *configPath, Environ: os.Environ(), Flags: flags, Stdout: stdio.Out}
	for _, apply := range extend {
		if err := apply(&opts); err != nil {
			fmt.Fprintf(stdio.Err, "wahost serve: %v\n", err)
			return exitUsage
		}
	}
	opts.Check = *check
	h, err := host.New(ctx, opts)
	if err != nil {
		return startFailed(stdio, err)
	}
	if *check {
		if err := h.Degraded(); err != nil {
			fmt.Fprintf(stdio.Out, "wahost: warning: %s (serve would start degraded)\n", oneLine(err.Error()))
		}
		if err := h.Close(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(stdio.Err, "wahost: closing after the check: %s\n", oneLine(err.Error()))
			return exitFail
		}
		fmt.Fprintln(stdio.Out, "wahost: the configuration is valid and every required dependency answers")
		return exitOK
	}
	if err := h.Run(ctx); err != nil {
		fmt.Fprintf(stdio.Err, "wahost: %s\n", oneLine(err.Error()))
		return exitFail
	}
	return exitOK
}

// startFailed reports a failed start in one line on standard error and
// returns its exit code: 2 when the configuration is wrong, 1 when a
// dependency cannot be reached (or anything else failed).
func startFailed(stdio Stdio, err error) int {
	fmt.Fprintf(stdio.Err, "wahost: %s\n", oneLine(err.Error()))
	if host.IsConfigError(err) {
		return exitUsage
	}
	return exitFail
}

// oneLine flattens a multi-line error (several invalid keys) into one
// line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// runPolicyRollout is `wahost policy rollout [status|pause|resume|promote|abort]`:
// it asks a running host's API.
func runPolicyRollout(ctx context.Context, args []string, stdio Stdio) int {
	fs := flag.NewFlagSet("wahost policy rollout", flag.ContinueOnError)
	fs.SetOutput(stdio.Err)
	addr := fs.String("addr", envOr("WAHOST_API_URL", "http://127.0.0.1:8080"), "the host's API (env WAHOST_API_URL)")
	key := fs.String("api-key", os.Getenv("WAHOST_API_KEY"), "the API key (env WAHOST_API_KEY)")
	fs.Usage = func() {
		fmt.Fprintln(stdio.Err, "Usage: wahost policy rollout [status|pause|resume|promote|abort] [flags]")
		fs.PrintDefaults()
	}
	op := "status"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		op, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	method, path := http.MethodPost, "/v1/policy/rollout/"+op
	switch op {
	case "status":
		method, path = http.MethodGet, "/v1/policy/rollout"
	case "pause", "resume", "promote", "abort":
	default:
		fmt.Fprintf(stdio.Err, "wahost policy rollout: unknown operation %q\n", op)
		fs.Usage()
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*addr, "/")+path, nil)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy rollout: %v\n", err)
		return exitUsage
	}
	req.Header.Set("apikey", *key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stdio.Err, "wahost policy rollout: asking the host: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var pretty bytes.Buffer
	if json.Indent(&pretty, body, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(body)
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stdio.Err, "wahost policy rollout %s: %s\n%s\n", op, resp.Status, pretty.String())
		return exitFail
	}
	fmt.Fprintln(stdio.Out, pretty.String())
	return exitOK
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

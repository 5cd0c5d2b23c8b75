//go:build !wahost_testserver

package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestNormalBuildHasNoTestServer: only the wahost_testserver build can be
// told to trust a fake WhatsApp server.
func TestNormalBuildHasNoTestServer(t *testing.T) {
	var out bytes.Buffer
	code := Run(context.Background(), []string{"serve", "--test-server", "127.0.0.1:1"}, Stdio{Out: &out, Err: &out})
	if code != exitUsage || !strings.Contains(out.String(), "flag provided but not defined: -test-server") {
		t.Fatalf("serve --test-server = %d: %s", code, out.String())
	}
	out.Reset()
	if code := Run(context.Background(), []string{"testserver"}, Stdio{Out: &out, Err: &out}); code != exitUsage {
		t.Fatalf("testserver = %d: %s", code, out.String())
	}
}

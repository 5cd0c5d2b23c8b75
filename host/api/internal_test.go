package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/storage/testenv"
)

// lockedBuffer is a log destination the server and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestInternalErrorsAreLoggedNotReturned: a store failure whose driver
// text names the database's host and port answers 500 with a generic
// message and an id; the log line under that id keeps the cause.
func TestInternalErrorsAreLoggedNotReturned(t *testing.T) {
	st, proxy := testenv.ProxiedPostgres(t, time.Now)
	var logs lockedBuffer
	h, err := api.New(api.Config{Store: st, APIKey: "k", Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	proxy.Cut()

	// The first request meets the pooled connection cut, the second
	// dials and is refused at the proxy's address.
	for range 2 {
		id := internalFailure(t, srv.URL, proxy.Addr())
		var logged map[string]any
		for line := range strings.SplitSeq(logs.String(), "\n") {
			if strings.Contains(line, id) {
				_ = json.Unmarshal([]byte(line), &logged)
			}
		}
		if logged == nil || logged["error_id"] != id || logged["error"] == "" {
			t.Fatalf("no log line under id %s:\n%s", id, logs.String())
		}
	}
	if !strings.Contains(logs.String(), proxy.Addr()) {
		t.Fatalf("the log lost the database's address:\n%s", logs.String())
	}
}

// internalFailure lists the instances, expects a generic 500 that does
// not name addr, and returns its id.
func internalFailure(t *testing.T, base, addr string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v1/instances", nil)
	req.Header.Set("apikey", "k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var body struct {
		Error struct{ Code, Message, ID string } `json:"error"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	if resp.StatusCode != http.StatusInternalServerError || body.Error.Code != "internal" ||
		body.Error.Message != "internal error" || body.Error.ID == "" {
		t.Fatalf("answer %d %s; want 500 internal, \"internal error\" and an id", resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), addr) || strings.Contains(string(raw), "127.0.0.1") {
		t.Fatalf("the answer gives the database's address away: %s", raw)
	}
	return body.Error.ID
}

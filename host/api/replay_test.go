package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/policies/replay"
	"github.com/wahost/wahost/storage"
	"github.com/wahost/wahost/storage/sqlite"
)

// replayer records what it was asked to replay.
type replayer struct {
	mu    sync.Mutex // guards calls
	calls []replayCall
}

type replayCall struct {
	name string
	wasm []byte
	recs []replay.Record
}

func (r *replayer) Replay(_ context.Context, name string, wasm []byte, recs []replay.Record) (policy.ReplayResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, replayCall{name, wasm, recs})
	return policy.ReplayResult{Module: name, Summary: &replay.Summary{Records: len(recs)}}, nil
}

// made returns the calls so far.
func (r *replayer) made() []replayCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]replayCall(nil), r.calls...)
}

func TestPolicyReplay(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "wahost.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hooks, err := webhook.New(webhook.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	rp := &replayer{}
	h, err := api.New(api.Config{Store: st, APIKey: "k", Webhooks: hooks, Replay: rp})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, name := range []string{"a", "b"} {
		inst, err := st.CreateInstance(ctx, storage.Instance{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, age := range []time.Duration{48 * time.Hour, time.Hour} { // recorded in time order
			if _, err := st.RecordDisconnect(ctx, storage.Disconnect{InstanceID: inst.ID, At: time.Now().Add(-age), Kind: "stream_error", Code: 503,
				Decision: json.RawMessage(`{"v":1,"action":"reconnect"}`), Input: json.RawMessage(`{"v":1}`)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	post := func(contentType string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/policy/replay", bytes.NewReader(body))
		req.Header.Set("apikey", "k")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("module", "next.wasm")
	_, _ = fw.Write([]byte("\x00asm-bytes"))
	_ = mw.WriteField("instance", "b")
	_ = mw.Close()

	cases := []struct {
		name, ctype, body string
		status, records   int
		module            string
	}{
		{"all instances, default week", "application/json", `{"module":"builtin:default"}`, 200, 4, "builtin:default"},
		{"one instance, one day", "application/json", `{"module":"/srv/p.wasm","instance":"a","since":"24h"}`, 200, 1, "/srv/p.wasm"},
		{"upload", mw.FormDataContentType(), form.String(), 200, 2, "upload:next.wasm"},
		{"no module", "application/json", `{}`, 400, 0, ""},
		{"bad window", "application/json", `{"module":"x","since":"soon"}`, 400, 0, ""},
		{"unknown instance", "application/json", `{"module":"x","instance":"nope"}`, 404, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rp.made())
			code, body := post(tc.ctype, []byte(tc.body))
			if code != tc.status {
				t.Fatalf("status %d %v, want %d", code, body, tc.status)
			}
			if tc.status != 200 {
				if len(rp.made()) != before {
					t.Fatal("replayed a refused request")
				}
				return
			}
			calls := rp.made()
			c := calls[len(calls)-1]
			if c.name != tc.module || len(c.recs) != tc.records || body["Records"] != float64(tc.records) {
				t.Fatalf("replayed %q with %d records (body %v), want %q with %d", c.name, len(c.recs), body, tc.module, tc.records)
			}
			if tc.module == "upload:next.wasm" && string(c.wasm) != "\x00asm-bytes" {
				t.Fatalf("uploaded bytes %q", c.wasm)
			}
		})
	}
}

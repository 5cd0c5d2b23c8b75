package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPolicyRolloutAsksTheAPI: status reads GET /v1/policy/rollout, an
// operation posts to its route, with the API key; a refusal fails.
func TestPolicyRolloutAsksTheAPI(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("apikey"))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/policy/rollout/resume" {
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":{"code":"conflict"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"running","step":1}`))
	}))
	defer srv.Close()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"policy", "rollout", "-addr", srv.URL, "-api-key", "k"}, exitOK, "GET /v1/policy/rollout k"},
		{[]string{"policy", "rollout", "pause", "-addr", srv.URL, "-api-key", "k"}, exitOK, "POST /v1/policy/rollout/pause k"},
		{[]string{"policy", "rollout", "resume", "-addr", srv.URL, "-api-key", "k"}, exitFail, "POST /v1/policy/rollout/resume k"},
		{[]string{"policy", "rollout", "explode", "-addr", srv.URL}, exitUsage, ""},
	}
	for _, tt := range tests {
		got = nil
		var out, errb bytes.Buffer
		if code := Run(context.Background(), tt.args, Stdio{Out: &out, Err: &errb}); code != tt.code {
			t.Fatalf("%v: exit %d, want %d; %s", tt.args, code, tt.code, errb.String())
		}
		if tt.want != "" && (len(got) != 1 || got[0] != tt.want) {
			t.Fatalf("%v: requests %v, want %s", tt.args, got, tt.want)
		}
		if tt.code == exitOK && !strings.Contains(out.String(), `"status": "running"`) {
			t.Fatalf("%v: printed %q", tt.args, out.String())
		}
	}
}

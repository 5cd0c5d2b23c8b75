package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wahost/wahost/host/console"
)

func TestWrap(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "api") })
	srv := httptest.NewServer(console.Wrap(next))
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, method, path string
		status             int
		contains, header   string
	}{
		{"redirect", "GET", "/console", http.StatusMovedPermanently, "", "Location"},
		{"index", "GET", "/console/", http.StatusOK, `<script type="module" src="app.js">`, "Content-Security-Policy"},
		{"module", "GET", "/console/app.js", http.StatusOK, "import", "Content-Security-Policy"},
		{"styles", "GET", "/console/style.css", http.StatusOK, ":root", ""},
		{"missing", "GET", "/console/nope.js", http.StatusNotFound, "", ""},
		{"read only", "POST", "/console/", http.StatusMethodNotAllowed, "", "Allow"},
		{"api", "GET", "/v1/instances", http.StatusOK, "api", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%s %s = %d %q", tc.method, tc.path, resp.StatusCode, body)
			}
			if tc.header != "" && resp.Header.Get(tc.header) == "" {
				t.Fatalf("no %s header", tc.header)
			}
		})
	}
}

package api_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/wahost/wahost/host/api"
)

// TestOpenAPIMatchesRoutes keeps openapi.yaml and the server in step:
// every route served is documented with its method, every documented
// operation is served, and public routes are exactly those documented
// without security.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	s, err := api.New(api.Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range s.Routes() {
		key := strings.ToLower(r.Method) + " " + r.Pattern
		served[key] = true
		op, ok := doc.Paths[r.Pattern][strings.ToLower(r.Method)].(map[string]any)
		if !ok {
			t.Errorf("%s %s is served but not documented", r.Method, r.Pattern)
			continue
		}
		sec, hasSec := op["security"]
		public := hasSec && len(sec.([]any)) == 0
		if public != r.Public {
			t.Errorf("%s %s: public %v, documented as public %v", r.Method, r.Pattern, r.Public, public)
		}
		responses, _ := op["responses"].(map[string]any)
		if !r.Public && responses["401"] == nil {
			t.Errorf("%s %s: 401 not documented", r.Method, r.Pattern)
		}
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served", strings.ToUpper(method), path)
			}
		}
		for _, p := range param.FindAllString(path, -1) {
			if !slices.ContainsFunc(s.Routes(), func(r api.Route) bool { return strings.Contains(r.Pattern, p) }) {
				t.Errorf("%s: parameter %s unknown to the server", path, p)
			}
		}
	}
}

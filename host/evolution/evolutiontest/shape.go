// Package evolutiontest compares wahost's answers and webhooks with the
// recorded Evolution API shapes in host/evolution/testdata. Tests only.
package evolutiontest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
)

// Shape is one recorded Evolution answer (see testdata/README.md).
type Shape struct {
	Name     string
	Source   string          `json:"source"`
	Status   int             `json:"status"`
	Optional []string        `json:"optional"`
	Free     []string        `json:"free"`
	Body     json.RawMessage `json:"body"`
}

// Dir is the directory of the recorded shapes.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Load reads the shape recorded as name.json.
func Load(name string) (Shape, error) {
	b, err := os.ReadFile(filepath.Join(Dir(), name+".json"))
	if err != nil {
		return Shape{}, fmt.Errorf("loading shape %s: %w", name, err)
	}
	s := Shape{Name: name}
	if err := json.Unmarshal(b, &s); err != nil {
		return Shape{}, fmt.Errorf("loading shape %s: %w", name, err)
	}
	if s.Source == "" {
		return Shape{}, fmt.Errorf("shape %s names no source", name)
	}
	return s, nil
}

// Match compares a JSON document with the shape's body and returns the
// differences: keys missing or extra (but the optional ones), JSON types
// that differ, at any depth. Arrays are compared element by element with
// the shape's first element. A null on either side matches any type.
func (s Shape) Match(got []byte) []string {
	var want, have any
	if err := json.Unmarshal(s.Body, &want); err != nil {
		return []string{"shape body: " + err.Error()}
	}
	if err := json.Unmarshal(got, &have); err != nil {
		return []string{"answer is not JSON: " + err.Error()}
	}
	var diffs []string
	m := matcher{optional: s.Optional, free: s.Free, diffs: &diffs}
	m.match("", want, have)
	return diffs
}

// matcher walks two documents: optional keys may be left out or added;
// below a free path only the JSON type counts (a message's content).
type matcher struct {
	optional, free []string
	diffs          *[]string
}

func (m matcher) match(path string, want, got any) {
	if want == nil || got == nil {
		return
	}
	if kind(want) != kind(got) {
		*m.diffs = append(*m.diffs, fmt.Sprintf("%s: %s, want %s", show(path), kind(got), kind(want)))
		return
	}
	if slices.Contains(m.free, strings.TrimSuffix(join(path, ""), ".")) {
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := join(path, k)
			wv, inWant := w[k]
			gv, inGot := g[k]
			switch {
			case inWant && inGot:
				m.match(p, wv, gv)
			case slices.Contains(m.optional, p):
			case inWant:
				*m.diffs = append(*m.diffs, fmt.Sprintf("%s: missing", p))
			default:
				*m.diffs = append(*m.diffs, fmt.Sprintf("%s: not in Evolution's answer", p))
			}
		}
	case []any:
		g := got.([]any)
		if len(w) == 0 {
			return
		}
		for i, gv := range g {
			m.match(fmt.Sprintf("%s[%d]", path, i), w[0], gv)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	// Array indexes do not count in optional paths.
	if i := strings.LastIndexByte(path, '['); i >= 0 && strings.HasSuffix(path, "]") {
		path = path[:i]
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func show(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

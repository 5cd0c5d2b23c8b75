package evolutiontest

import (
	"os"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	s := Shape{Body: []byte(`{"a":{"b":1,"c":null},"l":[{"x":"s"}],"o":true}`), Optional: []string{"o"}}
	for _, c := range []struct {
		name, got string
		diffs     []string
	}{
		{"same", `{"a":{"b":2,"c":"x"},"l":[{"x":"t"},{"x":"u"}],"o":false}`, nil},
		{"optional left out", `{"a":{"b":2,"c":null},"l":[]}`, nil},
		{"type", `{"a":{"b":"2","c":null},"l":[]}`, []string{"a.b: string, want number"}},
		{"missing and extra", `{"a":{"c":null,"d":1},"l":[{"x":"s","y":1}]}`,
			[]string{"a.b: missing", "a.d: not in Evolution's answer", "l.y: not in Evolution's answer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := s.Match([]byte(c.got))
			if strings.Join(got, "|") != strings.Join(c.diffs, "|") {
				t.Errorf("Match = %q, want %q", got, c.diffs)
			}
		})
	}
}

// TestShapesLoad: every recorded shape parses and names its source.
func TestShapesLoad(t *testing.T) {
	entries, err := os.ReadDir(Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		s, err := Load(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if diffs := s.Match(s.Body); len(diffs) > 0 {
			t.Errorf("%s does not match itself: %v", name, diffs)
		}
	}
}

package jsonw

import (
	"bytes"
	"encoding/json"
	"testing"
)

var samples = []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
	"<a href='x?a=1&b=2'>", "ünïcödé 😀", "line\u2028para\u2029", "bad \xff utf8 \xc3", "https://example.com/h?x=1&y=<2>"}

// encode is encoding/json with HTML escaping off, as AppendString promises.
func encode(t *testing.T, s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func check(t *testing.T, s string) {
	if got, want := AppendString([]byte("x"), s), append([]byte("x"), encode(t, s)...); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q):\n got %s\nwant %s", s, got, want)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range samples {
		check(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(check)
}

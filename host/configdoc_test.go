package host

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wahost/wahost/host/config"
)

// documentedModes reads docs/config.md's key table: key → "live" or
// "restart".
func documentedModes(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]string{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		modes[key] = strings.TrimSpace(cells[3])
	}
	return modes
}

// field returns the settable field of cfg that the dotted key names.
func field(t *testing.T, cfg *config.Config, key string) reflect.Value {
	t.Helper()
	v := reflect.ValueOf(cfg).Elem()
next:
	for part := range strings.SplitSeq(key, ".") {
		for i := range v.NumField() {
			if tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("koanf"), ","); tag == part {
				v = v.Field(i)
				continue next
			}
		}
		t.Fatalf("no field for %s", key)
	}
	return v
}

// change gives f another value of its type.
func change(t *testing.T, key string, f reflect.Value) {
	t.Helper()
	switch {
	case f.Type() == reflect.TypeFor[time.Duration]():
		f.SetInt(f.Int() + int64(time.Second))
	case f.Kind() == reflect.String:
		f.SetString(f.String() + "x")
	case f.Kind() == reflect.Bool:
		f.SetBool(!f.Bool())
	case f.CanInt():
		f.SetInt(f.Int() + 1)
	case f.CanUint():
		f.SetUint(f.Uint() + 1)
	case f.CanFloat():
		f.SetFloat(f.Float() + 1)
	case f.Kind() == reflect.Slice:
		f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, f.Len()+1), reflect.Zero(f.Type().Elem())))
	case f.Kind() == reflect.Map:
		m := reflect.MakeMap(f.Type())
		m.SetMapIndex(reflect.ValueOf("changed"), reflect.Zero(f.Type().Elem()))
		f.Set(m)
	default:
		t.Fatalf("%s: cannot change a %s", key, f.Type())
	}
}

// TestConfigDocMatchesReload: every key is documented, and a reload that
// changes a key docs/config.md calls "restart" warns that it waits for a
// restart, while one that changes a "live" key does not (the reload
// applies it: TestLiveKeysApplyOnReload observes the effects).
func TestConfigDocMatchesReload(t *testing.T) {
	modes := documentedModes(t)
	for _, key := range config.Keys() {
		if modes[key] == "" {
			t.Errorf("%s is not in docs/config.md's table", key)
		}
	}
	base, err := config.Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 0, len(modes))
	for k := range modes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		mode := modes[key]
		if mode != "live" && mode != "restart" {
			t.Errorf("%s: mode %q, want live or restart", key, mode)
			continue
		}
		cur, err := config.Load("", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		change(t, key, field(t, cur, key))
		warned := restartKeys(base, cur)
		switch {
		case mode == "restart" && len(warned) == 0:
			t.Errorf("%s is documented restart-only, but a reload changing it does not say so", key)
		case mode == "live" && len(warned) > 0:
			t.Errorf("%s is documented live, but a reload changing it warns %v", key, warned)
		}
	}
}

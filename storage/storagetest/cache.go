package storagetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wahost/wahost/storage"
)

// OpenCache opens a fresh, empty cache in its own namespace, reading time
// from clock if it keeps time itself; it is closed and emptied when t ends.
type OpenCache func(t testing.TB, clock *Clock) storage.Cache

// RunCache runs the cache conformance suite.
func RunCache(t *testing.T, open OpenCache) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c storage.Cache, clock *Clock)
	}{
		{"Values", testCacheValues},
		{"TTL", testCacheTTL},
		{"Counters", testCacheCounters},
		{"Lists", testCacheLists},
		{"WrongType", testCacheWrongType},
		{"Purge", testCachePurge},
		{"PurgeMany", testCachePurgeMany},
		{"Invalid", testCacheInvalid},
		{"ConcurrentIncr", testCacheConcurrentIncr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock()
			tt.fn(t, open(t, clock), clock)
		})
	}
}

func testCacheValues(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	_, err := c.Get(ctx, "inst", "status")
	wantErr(t, err, storage.ErrNotFound)
	if err := c.Set(ctx, "inst", "status", []byte("open"), 0); err != nil {
		t.Fatal(err)
	}
	if v := try(c.Get(ctx, "inst", "status")).must(t); string(v) != "open" {
		t.Fatalf("Get = %q", v)
	}
	bin := []byte{0, 1, 2, 0xff, ':', '*'}
	if err := c.Set(ctx, "inst", "qr:current", bin, 0); err != nil {
		t.Fatal(err)
	}
	if v := try(c.Get(ctx, "inst", "qr:current")).must(t); string(v) != string(bin) {
		t.Fatalf("binary Get = %v", v)
	}
	if _, err := c.Get(ctx, "other", "status"); !errorsIs(err, storage.ErrNotFound) {
		t.Fatalf("key visible from another instance: %v", err)
	}
	if err := c.Delete(ctx, "inst", "status"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "inst", "status"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	_, err = c.Get(ctx, "inst", "status")
	wantErr(t, err, storage.ErrNotFound)
}

func testCacheTTL(t *testing.T, c storage.Cache, clock *Clock) {
	ctx := ctxFor(t)
	if err := c.Set(ctx, "inst", "qr", []byte("2@abc"), 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "inst", "forever", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "inst", "qr"); err != nil || string(v) != "2@abc" {
		t.Fatalf("Get before expiry = %q, %v", v, err)
	}
	// A cache on the injected clock expires at once when it advances; one
	// on a server's clock within a few polls.
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		clock.Advance(50 * time.Millisecond)
		if _, err := c.Get(ctx, "inst", "qr"); errorsIs(err, storage.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("value with a TTL never expired")
		}
		<-tick.C
	}
	if _, err := c.Get(ctx, "inst", "forever"); err != nil {
		t.Fatalf("value without TTL: %v", err)
	}
}

func testCacheCounters(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	if n := try(c.Incr(ctx, "inst", "qr_count", 1)).must(t); n != 1 {
		t.Fatalf("Incr from missing = %d", n)
	}
	if n := try(c.Incr(ctx, "inst", "qr_count", 5)).must(t); n != 6 {
		t.Fatalf("Incr = %d", n)
	}
	if n := try(c.Incr(ctx, "inst", "qr_count", -10)).must(t); n != -4 {
		t.Fatalf("Incr negative = %d", n)
	}
	if v := try(c.Get(ctx, "inst", "qr_count")).must(t); string(v) != "-4" {
		t.Fatalf("counter reads as %q, want decimal text", v)
	}
	if err := c.Set(ctx, "inst", "n", []byte("41"), 0); err != nil {
		t.Fatal(err)
	}
	if n := try(c.Incr(ctx, "inst", "n", 1)).must(t); n != 42 {
		t.Fatalf("Incr of a set value = %d", n)
	}
	if err := c.Set(ctx, "inst", "text", []byte("abc"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := c.Incr(ctx, "inst", "text", 1)
	wantErr(t, err, storage.ErrInvalidInput)
	if err := c.Set(ctx, "inst", "max", []byte("9223372036854775807"), 0); err != nil {
		t.Fatal(err)
	}
	_, err = c.Incr(ctx, "inst", "max", 1)
	wantErr(t, err, storage.ErrInvalidInput)
}

func testCacheLists(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	if l := try(c.List(ctx, "inst", "decisions")).must(t); len(l) != 0 {
		t.Fatalf("List of missing = %q", l)
	}
	for i := 1; i <= 5; i++ {
		if err := c.Push(ctx, "inst", "decisions", []byte(fmt.Sprint(i)), 3); err != nil {
			t.Fatal(err)
		}
	}
	l := try(c.List(ctx, "inst", "decisions")).must(t)
	if got := joinBytes(l); got != "5,4,3" {
		t.Fatalf("List = %s, want the newest three, newest first", got)
	}
}

func testCacheWrongType(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	if err := c.Push(ctx, "inst", "list", []byte("a"), 10); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "inst", "value", []byte("a"), 0); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(ctx, "inst", "list")
	wantErr(t, err, storage.ErrInvalidInput)
	_, err = c.Incr(ctx, "inst", "list", 1)
	wantErr(t, err, storage.ErrInvalidInput)
	wantErr(t, c.Push(ctx, "inst", "value", []byte("b"), 10), storage.ErrInvalidInput)
	_, err = c.List(ctx, "inst", "value")
	wantErr(t, err, storage.ErrInvalidInput)
	// Set replaces a list.
	if err := c.Set(ctx, "inst", "list", []byte("now a value"), 0); err != nil {
		t.Fatal(err)
	}
}

func testCachePurge(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	fill := func(instance string) {
		t.Helper()
		for _, k := range []string{"status", "qr", "*", "a:b:c"} {
			if err := c.Set(ctx, instance, k, []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
		}
		try(c.Incr(ctx, instance, "count", 1)).must(t)
		if err := c.Push(ctx, instance, "decisions", []byte("d"), 10); err != nil {
			t.Fatal(err)
		}
	}
	// "a" must not take "ab" or "a.b" with it.
	for _, inst := range []string{"a", "ab", "a.b", "b"} {
		fill(inst)
	}
	if n := try(c.Purge(ctx, "a")).must(t); n != 6 {
		t.Fatalf("Purge = %d, want 6", n)
	}
	if n := try(c.Purge(ctx, "a")).must(t); n != 0 {
		t.Fatalf("second Purge = %d, want 0", n)
	}
	if n := try(c.Purge(ctx, "never-used")).must(t); n != 0 {
		t.Fatalf("Purge of an empty namespace = %d", n)
	}
	_, err := c.Get(ctx, "a", "status")
	wantErr(t, err, storage.ErrNotFound)
	for _, inst := range []string{"ab", "a.b", "b"} {
		if _, err := c.Get(ctx, inst, "status"); err != nil {
			t.Fatalf("Purge(a) touched %s: %v", inst, err)
		}
		if l := try(c.List(ctx, inst, "decisions")).must(t); len(l) != 1 {
			t.Fatalf("Purge(a) touched %s's list", inst)
		}
	}
}

// testCachePurgeMany crosses several SCAN pages.
func testCachePurgeMany(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	const n = 1500
	for i := 0; i < n; i++ {
		if err := c.Set(ctx, "big", fmt.Sprintf("session:%d", i), []byte("x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Set(ctx, "small", "k", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if got := try(c.Purge(ctx, "big")).must(t); got != n {
		t.Fatalf("Purge = %d, want %d", got, n)
	}
	if got := try(c.Purge(ctx, "big")).must(t); got != 0 {
		t.Fatalf("second Purge = %d", got)
	}
	if _, err := c.Get(ctx, "small", "k"); err != nil {
		t.Fatal(err)
	}
}

func testCacheInvalid(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	tests := []struct {
		name          string
		instance, key string
		want          error
	}{
		{"empty instance", "", "k", storage.ErrInvalidName},
		{"colon instance", "a:b", "k", storage.ErrInvalidName},
		{"glob instance", "a*", "k", storage.ErrInvalidName},
		{"dot dot", "..", "k", storage.ErrInvalidName},
		{"empty key", "a", "", storage.ErrInvalidInput},
		{"long key", "a", strings.Repeat("k", storage.MaxKeyLen+1), storage.ErrTooLarge},
		{"NUL key", "a", "k\x00", storage.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, c.Set(ctx, tt.instance, tt.key, []byte("v"), 0), tt.want)
			_, err := c.Get(ctx, tt.instance, tt.key)
			wantErr(t, err, tt.want)
		})
	}
	wantErr(t, c.Set(ctx, "a", "k", make([]byte, storage.MaxCacheValueBytes+1), 0), storage.ErrTooLarge)
	wantErr(t, c.Set(ctx, "a", "k", nil, -time.Second), storage.ErrInvalidInput)
	wantErr(t, c.Push(ctx, "a", "k", nil, 0), storage.ErrInvalidInput)
	_, err := c.Purge(ctx, "*")
	wantErr(t, err, storage.ErrInvalidName)
}

func testCacheConcurrentIncr(t *testing.T, c storage.Cache, _ *Clock) {
	ctx := ctxFor(t)
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if _, err := c.Incr(ctx, "inst", "n", 1); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := try(c.Incr(ctx, "inst", "n", 0)).must(t); n != workers*rounds {
		t.Fatalf("counter = %d, want %d", n, workers*rounds)
	}
}

func joinBytes(bs [][]byte) string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return strings.Join(s, ",")
}

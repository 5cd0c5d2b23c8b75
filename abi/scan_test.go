package abi

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/wahost/wahost/abi/internal/scan"
)

// scanBytes are the bytes the word scans must tell apart: every kind of
// byte they look for, and their neighbours.
var scanBytes = []byte{0x00, 0x1f, ' ', '!', '"', '#', '\\', ']', '[', '{', '}', 'z', '|', 0x7f, 0x80, 0xc3, 0xff,
	'/', '0', '5', '9', ':', '-', '.', 'e', ','}

// TestWordScans: on random words, the lowest byte each word scan marks
// is the first byte a byte-by-byte scan stops at (scan.Plain has its own
// test).
func TestWordScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	first := func(b []byte, stop func(byte) bool) int {
		for i, c := range b {
			if stop(c) {
				return i
			}
		}
		return 8
	}
	for range 200_000 {
		var b [8]byte
		for i := range b {
			b[i] = scanBytes[rng.IntN(len(scanBytes))]
		}
		w := scan.Load(b[:])
		if got, want := bits.TrailingZeros64(bracketBits(w))/8, first(b[:], func(c byte) bool {
			return c == '"' || c == '[' || c == ']' || c == '{' || c == '}'
		}); got != want {
			t.Fatalf("bracketBits(%q): first byte %d, want %d", b, got, want)
		}
		n := first(b[:], func(c byte) bool { return c < '0' || c > '9' })
		if got := leadingDigits(w); got != n {
			t.Fatalf("leadingDigits(%q) = %d, want %d", b, got, n)
		}
		want := uint64(0)
		for _, c := range b[:n] {
			want = want*10 + uint64(c-'0')
		}
		if got := parseDigits(w, n); got != want {
			t.Fatalf("parseDigits(%q, %d) = %d, want %d", b, n, got, want)
		}
	}
}

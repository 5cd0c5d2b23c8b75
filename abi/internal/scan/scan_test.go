package scan

import (
	"math/rand/v2"
	"testing"
)

// TestPlain: on random strings of the bytes Special must tell apart and
// their neighbours, from every start, Plain stops where a byte-by-byte
// scan stops, as string and as bytes.
func TestPlain(t *testing.T) {
	alphabet := []byte{0x00, 0x1f, ' ', '!', '"', '#', '\\', ']', 'z', 0x7f, 0x80, 0xc3, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50_000 {
		b := make([]byte, rng.IntN(24))
		for i := range b {
			// Mostly plain bytes, so that runs of words cross nothing.
			if rng.IntN(4) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			} else {
				b[i] = 'a' + byte(rng.IntN(26))
			}
		}
		for i := 0; i <= len(b); i++ {
			want := i
			for want < len(b) && !(b[want] == '"' || b[want] == '\\' || b[want] < 0x20 || b[want] >= 0x80) {
				want++
			}
			if got := Plain(b, i); got != want {
				t.Fatalf("Plain(%q, %d) = %d, want %d", b, i, got, want)
			}
			if got := Plain(string(b), i); got != want {
				t.Fatalf("Plain(string %q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}

package wafake

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"go.mau.fi/whatsmeow/socket"
)

func frameOf(t testing.TB, data []byte) []byte {
	t.Helper()
	f, err := encodeFrame(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFrameDecoder(t *testing.T) {
	t.Parallel()
	stream := slices.Concat(socket.WAConnHeader, frameOf(t, []byte("hello")), frameOf(t, nil), frameOf(t, []byte("world")))
	want := [][]byte{[]byte("hello"), {}, []byte("world")}
	cases := []struct {
		name  string
		parts [][]byte
	}{
		{name: "one message", parts: [][]byte{stream}},
		{name: "byte by byte", parts: splitEvery(stream, 1)},
		{name: "split inside the header", parts: [][]byte{stream[:2], stream[2:]}},
		{name: "split inside a length", parts: [][]byte{stream[:5], stream[5:]}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d frameDecoder
			var got [][]byte
			for _, p := range tc.parts {
				frames, err := d.feed(p)
				if err != nil {
					t.Fatalf("feed: %v", err)
				}
				got = append(got, frames...)
			}
			if !slices.EqualFunc(got, want, bytes.Equal) {
				t.Errorf("frames = %q, want %q", got, want)
			}
			if !bytes.Equal(d.header, socket.WAConnHeader) {
				t.Errorf("header = % x, want % x", d.header, socket.WAConnHeader)
			}
		})
	}
}

func TestFrameDecoderRejectsBadHeader(t *testing.T) {
	t.Parallel()
	for _, in := range [][]byte{[]byte("GET / HTTP/1.1"), []byte("X"), {'W', 'A', 5, 3, 0}} {
		var d frameDecoder
		if _, err := d.feed(in); !errors.Is(err, ErrBadHeader) {
			t.Errorf("feed(%q): err = %v, want ErrBadHeader", in, err)
		}
	}
}

// FuzzFrameDecoder feeds untrusted client bytes in two messages split at
// any point: the decoder must not panic, and must find the same frames as
// when it gets them in one message.
func FuzzFrameDecoder(f *testing.F) {
	f.Add(slices.Concat(socket.WAConnHeader, []byte{0, 0, 2, 'h', 'i'}), 3)
	f.Add([]byte("WA\x06\x03\xff\xff\xff"), 5)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, data []byte, split int) {
		if split < 0 || split > len(data) {
			split = len(data) / 2
		}
		var whole frameDecoder
		want, wantErr := whole.feed(bytes.Clone(data))

		var parts frameDecoder
		got, err := parts.feed(bytes.Clone(data[:split]))
		if err == nil {
			var more [][]byte
			more, err = parts.feed(bytes.Clone(data[split:]))
			got = append(got, more...)
		}
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("split feed err = %v, whole feed err = %v", err, wantErr)
		}
		if err == nil && !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("split feed frames %q, whole feed frames %q", got, want)
		}
	})
}

func BenchmarkFrameDecoder(b *testing.B) {
	payload := bytes.Repeat([]byte{0xab}, 512)
	msg := frameOf(b, payload)
	var d frameDecoder
	if _, err := d.feed(socket.WAConnHeader); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.feed(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

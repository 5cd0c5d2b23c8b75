// Package jsonw appends JSON by hand where encoding/json's reflection and
// copying cost too much: the policy input the host writes for every
// decision (package abi), the webhook envelopes written for every event.
// Like package abi it uses the standard library only.
package jsonw

import (
	"math/bits"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special marks by their high bit the bytes of w, eight bytes of a string
// read little-endian, that AppendString must look at: a quote, a
// backslash, a control character or a non-ASCII byte. The lowest mark is
// exact; a borrow may mark the bytes above it, so only that one is used.
func special(w uint64) uint64 {
	quote, bslash := w^(lsb*'"'), w^(lsb*'\\')
	return ((quote-lsb)&^quote | (bslash-lsb)&^bslash | (w - lsb*0x20) | w) & msb
}

// le64 reads eight bytes of s little-endian.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it with HTML escaping off: the short escapes, \u00XX for the
// other control bytes, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: most strings are
		// copied in a few steps rather than one per byte, which matters
		// under WebAssembly, where a policy encodes its decision.
		if i+8 <= len(s) {
			m := special(le64(s[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Package scan finds, eight bytes at a time, the bytes of JSON text that a
// reader or a writer must look at. Under WebAssembly every byte looked at
// costs, and most strings of a policy's input and decision have none.
// Like package abi it uses the standard library only, and not
// encoding/binary, which links reflect into a guest.
package scan

import "math/bits"

// Ones has 0x01 in every byte, Highs 0x80.
const (
	Ones  = 0x0101010101010101
	Highs = 0x8080808080808080
)

// Load reads the first eight bytes of s little-endian.
func Load[S ~string | ~[]byte](s S) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// ZeroBytes marks the zero bytes of w by their high bit. The lowest mark
// is exact; a borrow may mark bytes above it, so callers use only the
// lowest: bits.TrailingZeros64(m)/8 is the index of the first zero byte.
func ZeroBytes(w uint64) uint64 { return (w - Ones) &^ w & Highs }

// Special marks by their high bit the bytes of w, eight bytes of a string
// read by Load, that need a look: a quote, a backslash, a control
// character or a non-ASCII byte. As in ZeroBytes, only the lowest mark is
// exact.
func Special(w uint64) uint64 {
	return (ZeroBytes(w^(Ones*'"')) | ZeroBytes(w^(Ones*'\\')) | (w - Ones*0x20) | w) & Highs
}

// Plain returns the index of the first byte of s from i on that a JSON
// string cannot hold as it is or that is not ASCII (see Special); len(s)
// when there is none.
func Plain[S ~string | ~[]byte](s S, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := Special(Load(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return len(s)
}

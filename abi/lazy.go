package abi

import (
	"math/bits"

	"github.com/wahost/wahost/abi/internal/scan"
)

// DecodeInputLazy is DecodeInputNoCopy that leaves the traffic object
// undecoded, for a caller that reads it only for some events: its bytes
// are kept (aliasing data) and Traffic stays zero until LoadTraffic
// decodes them. Finding the object's end checks its strings and brackets
// only; LoadTraffic checks the rest. Every input carries the object, so a
// policy that reads it for some events only (the default policy: degraded
// events) need not decode its thirteen members for the others.
func DecodeInputLazy(data []byte, in *Input) error { return decodeInput(data, in, true, true) }

// LoadTraffic returns the input's traffic, first decoding the object that
// DecodeInputLazy left undecoded, if any. An input decoded otherwise, or
// built in Go, has its Traffic ready and LoadTraffic returns it as is. The
// error reports a malformed traffic object; LoadTraffic then reports it
// again at every call.
func (in *Input) LoadTraffic() (*Traffic, error) {
	if in.trafficRaw == nil {
		return &in.Traffic, nil
	}
	if err := in.decodePendingTraffic(); err != nil {
		return nil, wrap("decoding input: ", fieldError("traffic", err), "")
	}
	return &in.Traffic, nil
}

// decodePendingTraffic decodes the traffic object DecodeInputLazy left
// undecoded. On error it leaves Traffic zero and the object pending.
func (in *Input) decodePendingTraffic() error {
	r := reader{b: in.trafficRaw}
	err := decodeTraffic(&r, &in.Traffic)
	if err == nil {
		err = r.end()
	}
	if err != nil {
		in.Traffic = Traffic{}
		return err
	}
	in.trafficRaw = nil
	return nil
}

// skipObject consumes an object without decoding it and returns its
// bytes. It finds the closing brace by the brackets outside strings and
// checks that they pair up, to maxDepth levels, and that strings close and
// hold no control character; it checks no more. Inside strings and out it
// crosses the bytes it need not look at eight at a time (scan.Plain,
// bracketBits): under WebAssembly every byte looked at costs.
func (r *reader) skipObject() ([]byte, error) {
	if err := r.expect('{'); err != nil {
		return nil, err
	}
	b, start := r.b, r.pos-1
	// open holds one bit per open bracket, innermost lowest: 1 for a
	// brace, 0 for a square bracket.
	open, depth := uint64(1), 1
	for pos := r.pos; pos < len(b); pos++ {
		if pos+8 <= len(b) {
			m := bracketBits(scan.Load(b[pos:]))
			if m == 0 {
				pos += 7 // and the loop's pos++
				continue
			}
			pos += bits.TrailingZeros64(m) >> 3
		}
		switch c := b[pos]; c {
		case '"':
			// To the closing quote, as rawString goes.
			for pos = scan.Plain(b, pos+1); pos < len(b); pos = scan.Plain(b, pos+1) {
				if c := b[pos]; c == '"' {
					break
				} else if c == '\\' {
					pos++ // the escaped byte
				} else if c < 0x20 {
					r.pos = pos
					return nil, r.fail("control character in string")
				}
			}
		case '{', '[':
			if depth == maxDepth {
				r.pos = pos
				return nil, r.fail("nesting too deep")
			}
			open, depth = open<<1|uint64(btoi(c == '{')), depth+1
		case '}', ']':
			if open&1 != uint64(btoi(c == '}')) {
				r.pos = pos
				return nil, r.fail("unexpected character " + quoteByte(c))
			}
			open, depth = open>>1, depth-1
			if depth == 0 {
				r.pos = pos + 1
				return b[start : pos+1], nil
			}
		}
	}
	r.pos = len(b)
	return nil, r.fail(errEOF.Error())
}

// bracketBits marks by their high bit the bytes of w, eight bytes outside
// strings, that skipObject looks at: a quote or a bracket. As in
// scan.ZeroBytes, only the lowest bit set is exact.
func bracketBits(w uint64) uint64 {
	// Setting bit 5 makes '[' and ']' the same bytes as '{' and '}'.
	lower := w | scan.Ones*0x20
	return scan.ZeroBytes(w^(scan.Ones*'"')) | scan.ZeroBytes(lower^(scan.Ones*'{')) | scan.ZeroBytes(lower^(scan.Ones*'}'))
}

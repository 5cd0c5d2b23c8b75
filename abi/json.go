package abi

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/wahost/wahost/abi/internal/scan"
)

// The codec is hand-written: no reflection, no allocation beyond the strings
// it returns, so a Go guest decides in microseconds rather than the ~75 µs
// encoding/json costs under WebAssembly.

// maxDepth bounds nesting when skipping values a reader does not know.
const maxDepth = 64

// A SyntaxError reports malformed JSON at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "json syntax error at byte " + itoa(int64(e.Offset)) + ": " + e.Msg
}

var errEOF = errors.New("unexpected end of input")

// reader scans one JSON document.
type reader struct {
	b   []byte
	pos int
	// alias makes str return strings that share b's memory.
	alias bool
}

func (r *reader) fail(msg string) error { return &SyntaxError{Offset: r.pos, Msg: msg} }

func (r *reader) ws() {
	for r.pos < len(r.b) {
		switch r.b[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.pos >= len(r.b) {
		return 0
	}
	return r.b[r.pos]
}

// expect consumes c, after white space. The fast path, c right here, is
// small enough to inline: under WebAssembly a call costs more than the
// work of most of the reader's steps, so the reader keeps its calls to one
// or two per member.
func (r *reader) expect(c byte) error {
	if p := r.pos; p < len(r.b) && r.b[p] == c {
		r.pos = p + 1
		return nil
	}
	return r.expectSlow(c)
}

func (r *reader) expectSlow(c byte) error {
	if r.peek() != c {
		if r.pos >= len(r.b) {
			return r.fail(errEOF.Error())
		}
		return r.fail("expected " + quoteByte(c) + ", found " + quoteByte(r.b[r.pos]))
	}
	r.pos++
	return nil
}

// end checks that nothing but white space follows the document.
func (r *reader) end() error {
	if r.peek() != 0 {
		return r.fail("trailing data after document")
	}
	return nil
}

// openObject consumes the '{' of an object. Members then come from
// member, which also consumes the closing '}':
//
//	if err := r.openObject(); err != nil { … }
//	for first := true; ; first = false {
//		key, ok, err := r.member(first)
//		if err != nil || !ok { … }
//		… consume the value …
//	}
//
// The loop shape, rather than a callback, keeps a decode free of closures,
// which matters under WebAssembly.
func (r *reader) openObject() error { return r.expect('{') }

// member reads the next member's key and colon, or the closing '}' (ok
// false). first says whether a member was read before.
func (r *reader) member(first bool) (key []byte, ok bool, err error) {
	// The hot path works on local copies of the buffer and position: the
	// compiler keeps those in registers (WebAssembly locals), where r.b
	// and r.pos would be loaded from memory at every use.
	b, pos := r.b, r.pos
	for pos < len(b) && (b[pos] == ' ' || b[pos] == '\n' || b[pos] == '\t' || b[pos] == '\r') {
		pos++
	}
	if pos < len(b) && b[pos] == '}' {
		r.pos = pos + 1
		return nil, false, nil
	}
	if !first {
		if pos >= len(b) || b[pos] != ',' {
			r.pos = pos
			return nil, false, r.fail("expected ',' or '}' in object")
		}
		pos++
		for pos < len(b) && (b[pos] == ' ' || b[pos] == '\n' || b[pos] == '\t' || b[pos] == '\r') {
			pos++
		}
	}
	// Fast path: a key of plain printable ASCII, the shape of every key
	// the host writes, read here rather than by rawString.
	if pos < len(b) && b[pos] == '"' {
		i := pos + 1
		for i < len(b) {
			c := b[i]
			if c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
			i++
		}
		if i < len(b) && b[i] == '"' {
			key = b[pos+1 : i]
			r.pos = i + 1
			if i+1 < len(b) && b[i+1] == ':' {
				r.pos = i + 2
			} else if err = r.expectSlow(':'); err != nil {
				return nil, false, err
			}
			return key, true, nil
		}
	}
	r.pos = pos
	if key, err = r.rawString(); err != nil {
		return nil, false, err
	}
	if err = r.expect(':'); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// openArray consumes the '[' of an array; element then reports whether an
// element follows, consuming the separators and the closing ']'.
func (r *reader) openArray() error { return r.expect('[') }

func (r *reader) element(first bool) (bool, error) {
	c := r.peek()
	if c == ']' {
		r.pos++
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, r.fail("expected ',' or ']' in array")
		}
		r.pos++
	}
	return true, nil
}

// rawString reads a string and returns its decoded bytes. Strings without
// escapes alias the input.
func (r *reader) rawString() ([]byte, error) {
	if r.pos < len(r.b) && r.b[r.pos] == '"' {
		r.pos++
	} else if err := r.expectSlow('"'); err != nil {
		return nil, err
	}
	b, start := r.b, r.pos
	ascii := true
	// Only the bytes that need a look are looked at (scan.Plain); a
	// non-ASCII one is only noted and crossed.
	pos := scan.Plain(b, start)
	for ; pos < len(b); pos = scan.Plain(b, pos+1) {
		switch c := b[pos]; {
		case c == '"':
			s := b[start:pos]
			r.pos = pos + 1
			if !ascii && !utf8.Valid(s) {
				return nil, &SyntaxError{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			return s, nil
		case c == '\\':
			r.pos = pos
			return r.escapedString(start)
		case c < 0x20:
			r.pos = pos
			return nil, r.fail("control character in string")
		default:
			ascii = false
		}
	}
	r.pos = pos
	return nil, r.fail(errEOF.Error())
}

func (r *reader) escapedString(start int) ([]byte, error) {
	out := append(make([]byte, 0, r.pos-start+16), r.b[start:r.pos]...)
	for r.pos < len(r.b) {
		c := r.b[r.pos]
		switch {
		case c == '"':
			r.pos++
			if !utf8.Valid(out) {
				return nil, &SyntaxError{Offset: start, Msg: "invalid UTF-8 in string"}
			}
			return out, nil
		case c < 0x20:
			return nil, r.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			r.pos++
			continue
		}
		r.pos++
		if r.pos >= len(r.b) {
			break
		}
		e := r.b[r.pos]
		r.pos++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			ru, ok := r.hex4()
			if !ok {
				return nil, r.fail("invalid \\u escape")
			}
			if utf16.IsSurrogate(ru) {
				ru = r.lowSurrogate(ru)
			}
			out = utf8.AppendRune(out, ru)
		default:
			return nil, r.fail("invalid escape character")
		}
	}
	return nil, r.fail(errEOF.Error())
}

// lowSurrogate completes a UTF-16 surrogate pair whose first half is hi, or
// returns the replacement character and consumes nothing if no valid second
// half follows.
func (r *reader) lowSurrogate(hi rune) rune {
	save := r.pos
	if r.pos+1 < len(r.b) && r.b[r.pos] == '\\' && r.b[r.pos+1] == 'u' {
		r.pos += 2
		if lo, ok := r.hex4(); ok {
			if ru := utf16.DecodeRune(hi, lo); ru != utf8.RuneError {
				return ru
			}
		}
	}
	r.pos = save
	return utf8.RuneError
}

func (r *reader) hex4() (rune, bool) {
	if r.pos+4 > len(r.b) {
		return 0, false
	}
	var v rune
	for _, c := range r.b[r.pos : r.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	r.pos += 4
	return v, true
}

// str reads a string, a copy unless the reader aliases its input. It
// inlines.
func (r *reader) str() (string, error) {
	b, err := r.rawString()
	if r.alias {
		return unsafe.String(unsafe.SliceData(b), len(b)), err
	}
	return string(b), err
}

// number returns the bytes of a JSON number.
func (r *reader) number() ([]byte, error) {
	r.ws()
	start := r.pos
	if r.pos < len(r.b) && r.b[r.pos] == '-' {
		r.pos++
	}
	digits := func() int {
		n := 0
		for r.pos < len(r.b) && r.b[r.pos] >= '0' && r.b[r.pos] <= '9' {
			r.pos++
			n++
		}
		return n
	}
	intStart := r.pos
	if digits() == 0 {
		return nil, r.fail("expected a number")
	}
	if r.b[intStart] == '0' && r.pos-intStart > 1 {
		return nil, &SyntaxError{Offset: intStart, Msg: "leading zero in number"}
	}
	if r.pos < len(r.b) && r.b[r.pos] == '.' {
		r.pos++
		if digits() == 0 {
			return nil, r.fail("expected digits after decimal point")
		}
	}
	if r.pos < len(r.b) && (r.b[r.pos] == 'e' || r.b[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.b) && (r.b[r.pos] == '+' || r.b[r.pos] == '-') {
			r.pos++
		}
		if digits() == 0 {
			return nil, r.fail("expected digits in exponent")
		}
	}
	return r.b[start:r.pos], nil
}

// int reads a number that must be integral. Integral values written with a
// fraction or exponent (2000.0, 2e3), as JavaScript-family guests do, are
// accepted.
func (r *reader) int() (int64, error) {
	b := r.b
	i := r.pos
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	r.pos = i
	start := i
	// Fast path: up to 18 plain digits, the shape of every integer the
	// host writes.
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	var v int64
	digits := 0
	for i < len(b) && digits < 18 {
		c := b[i]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
		i++
		digits++
	}
	if digits > 0 && (digits == 1 || b[start+btoi(neg)] != '0') &&
		(i == len(b) || !isNumberByte(b[i])) {
		r.pos = i
		if neg {
			v = -v
		}
		return v, nil
	}
	num, err := r.number()
	if err != nil {
		return 0, err
	}
	if v, ok := parseInt(num); ok {
		return v, nil
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || f != math.Trunc(f) || f < -(1<<53) || f > 1<<53 {
		return 0, &SyntaxError{Offset: start, Msg: "expected an integer, found " + string(num)}
	}
	return int64(f), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// parseInt parses plain decimal digits with an optional minus sign.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

func (r *reader) bool() (bool, error) {
	r.ws()
	switch {
	case r.lit("true"):
		return true, nil
	case r.lit("false"):
		return false, nil
	}
	return false, r.fail("expected true or false")
}

func (r *reader) lit(s string) bool {
	if len(r.b)-r.pos >= len(s) && string(r.b[r.pos:r.pos+len(s)]) == s {
		r.pos += len(s)
		return true
	}
	return false
}

// null consumes a null literal if one is next.
func (r *reader) null() bool {
	r.ws()
	return r.lit("null")
}

// skip consumes one value of any kind, validating it.
func (r *reader) skip(depth int) error {
	if depth > maxDepth {
		return r.fail("nesting too deep")
	}
	switch c := r.peek(); {
	case c == '{':
		r.pos++
		for first := true; ; first = false {
			_, ok, err := r.member(first)
			if err != nil || !ok {
				return err
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		r.pos++
		for first := true; ; first = false {
			ok, err := r.element(first)
			if err != nil || !ok {
				return err
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '"':
		_, err := r.rawString()
		return err
	case c == 't' || c == 'f':
		_, err := r.bool()
		return err
	case c == 'n':
		if r.null() {
			return nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := r.number()
		return err
	case c == 0:
		return r.fail(errEOF.Error())
	}
	return r.fail("unexpected character " + quoteByte(r.b[r.pos]))
}

// rawValue consumes one value and returns its bytes.
func (r *reader) rawValue() ([]byte, error) {
	r.ws()
	start := r.pos
	if err := r.skip(0); err != nil {
		return nil, err
	}
	return r.b[start:r.pos], nil
}

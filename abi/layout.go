package abi

import (
	"math/bits"
	"unsafe"

	"github.com/wahost/wahost/abi/internal/scan"
)

// The host writes every input document the same way (Input.AppendJSON):
// the same members in the same order, without white space.
// decodeHostInput reads a document of that layout by comparing the bytes
// between its values with the ones the host writes, eight at a time, and
// reading the values as the reader does. Any other document, and any it
// would have to reject, it leaves to decodeMembers, which takes members in
// any order, with white space or unknown ones, and reports errors. Under
// WebAssembly, where finding each member's key and matching it by name
// costs more than reading most values, this makes decoding about twice as
// fast.

// A hostKey is what the host writes before a value: separators, a key in
// quotes and its colon, at most 16 bytes. It is held as two little-endian
// words, with the mask of the bytes that belong to it, to be compared with
// eight bytes at a time.
type hostKey struct {
	lit     string
	span    int // bytes compared: len(lit) rounded up to 8
	w, mask [2]uint64
}

func newHostKey(lit string) hostKey {
	if len(lit) > 16 {
		panic("abi: host key longer than 16 bytes: " + lit)
	}
	k := hostKey{lit: lit, span: (len(lit) + 7) &^ 7}
	for i := 0; i < len(lit); i++ {
		k.w[i/8] |= uint64(lit[i]) << (8 * (i % 8))
		k.mask[i/8] |= 0xff << (8 * (i % 8))
	}
	return k
}

// at reports whether b has k at p. It compares span bytes, so it needs as
// many: the host always writes at least that many from a key on (a value,
// then closing brackets or the next key).
func (k *hostKey) at(b []byte, p int) bool {
	return len(b)-p >= k.span && scan.Load(b[p:])&k.mask[0] == k.w[0] && (k.span == 8 || scan.Load(b[p+8:])&k.mask[1] == k.w[1])
}

var (
	hostV           = newHostKey(`{"v":`)
	hostNowMS       = newHostKey(`,"now_ms":`)
	hostJitterSeed  = newHostKey(`,"jitter_seed":`)
	hostInstance    = newHostKey(`,"instance":{`)
	hostID          = newHostKey(`"id":`)
	hostName        = newHostKey(`,"name":`)
	hostPhase       = newHostKey(`,"phase":`)
	hostQRCount     = newHostKey(`,"qr_count":`)
	hostQRLimit     = newHostKey(`,"qr_limit":`)
	hostConnectedMS = newHostKey(`,"connected_ms":`)
	hostEvent       = newHostKey(`},"event":{`)
	hostKind        = newHostKey(`"kind":`)
	hostCode        = newHostKey(`,"code":`)
	hostRaw         = newHostKey(`,"raw":`)
	hostMessage     = newHostKey(`,"message":`)
	hostCause       = newHostKey(`,"cause":`)
	hostExpireMS    = newHostKey(`,"expire_ms":`)
	hostBanCode     = newHostKey(`,"ban_code":`)
	hostSignal      = newHostKey(`,"signal":`)
	hostAttempt     = newHostKey(`},"attempt":`)
	hostStep        = newHostKey(`,"step":`)
	hostTraffic     = newHostKey(`,"traffic":`)
	hostProxy       = newHostKey(`,"proxy":`)
	hostSettings    = newHostKey(`,"settings":`)
	hostAtMS        = newHostKey(`{"at_ms":`)
	hostNextKind    = newHostKey(`,"kind":`)
	hostAction      = newHostKey(`,"action":`)
)

// The keys a hostKey cannot compare: the summary's, too long, and the
// history's, too near the end of a document whose history is empty. Each
// comes once at most, and is compared as a string.
const (
	hostSummary = `,"history_summary":`
	hostHistory = `,"history":[`
)

// hostReader reads a document key by key in the host's layout. The first
// key that differs, or value that does not read, clears ok; every read
// after that does nothing, so a decoder reads on and checks ok where it
// must.
type hostReader struct {
	reader
	ok bool
}

// next reports whether k comes next.
func (h *hostReader) next(k *hostKey) bool { return h.ok && k.at(h.b, h.pos) }

// key consumes k, which must come next. The readers below start as key
// does, rather than call it: under WebAssembly every call costs.
func (h *hostReader) key(k *hostKey) {
	if h.ok = h.next(k); h.ok {
		h.pos += len(k.lit)
	}
}

// lit consumes s if it comes next.
func (h *hostReader) lit(s string) bool {
	if h.ok && len(h.b)-h.pos >= len(s) && string(h.b[h.pos:h.pos+len(s)]) == s {
		h.pos += len(s)
		return true
	}
	return false
}

// integer reads k and the integer after it. Fewer than 16 plain digits,
// the way the host writes every count and time, it reads itself, eight at
// a time, to the value int would read digit by digit; any other number it
// leaves to int.
func (h *hostReader) integer(k *hostKey) int64 {
	if h.ok = h.next(k); !h.ok {
		return 0
	}
	h.pos += len(k.lit)
	if b, p := h.b, h.pos; len(b)-p >= 16 {
		w := scan.Load(b[p:])
		n := leadingDigits(w)
		v := parseDigits(w, n)
		if n == 8 {
			w = scan.Load(b[p+8:])
			m := leadingDigits(w)
			v, n = v*pow10[m]+parseDigits(w, m), n+m
		}
		if n > 0 && n < 16 && (n == 1 || b[p] != '0') && !isNumberByte(b[p+n]) {
			h.pos = p + n
			return int64(v)
		}
	}
	v, err := h.int()
	h.ok = err == nil
	return v
}

// small reads k and an integer of 32 bits after it.
func (h *hostReader) small(k *hostKey) int {
	v := h.integer(k)
	h.ok = h.ok && int64(int32(v)) == v
	return int(v)
}

// raw reads k and the string after it, as rawString does. A string of
// ASCII without escapes, as most are, it reads itself, eight bytes at a
// time.
func (h *hostReader) raw(k *hostKey) []byte {
	if h.ok = h.next(k); !h.ok {
		return nil
	}
	h.pos += len(k.lit)
	if b, p := h.b, h.pos; p < len(b) && b[p] == '"' {
		if q := scan.Plain(b, p+1); q < len(b) && b[q] == '"' {
			h.pos = q + 1
			return b[p+1 : q]
		}
	}
	s, err := h.rawString()
	h.ok = err == nil
	return s
}

// text reads k and the string after it, as str does.
func (h *hostReader) text(k *hostKey) string {
	s := h.raw(k)
	if h.alias {
		return unsafe.String(unsafe.SliceData(s), len(s))
	}
	return string(s)
}

// decodeHostInput decodes data into in, a reset Input, as decodeInput
// does, if data is laid out as the host writes it, and reports whether it
// was. When it reports false, in holds whatever it read.
func decodeHostInput(data []byte, in *Input, alias, lazy bool) bool {
	h := hostReader{reader: reader{b: data, alias: alias}, ok: true}
	in.V = int(h.integer(&hostV))
	in.NowMS = h.integer(&hostNowMS)
	seed := h.integer(&hostJitterSeed)
	in.JitterSeed = uint32(seed)
	if !h.ok || in.V != DocVersion || seed < 0 || seed > 1<<32-1 {
		return false
	}

	inst := &in.Instance
	h.key(&hostInstance)
	inst.ID = h.text(&hostID)
	inst.Name = h.text(&hostName)
	inst.Phase = internPhase(h.raw(&hostPhase))
	inst.QRCount = h.small(&hostQRCount)
	inst.QRLimit = h.small(&hostQRLimit)
	inst.ConnectedMS = h.integer(&hostConnectedMS)

	ev := &in.Event
	h.key(&hostEvent)
	ev.Kind = internKind(h.raw(&hostKind))
	ev.Code = h.small(&hostCode)
	ev.Raw = h.text(&hostRaw)
	ev.Message = h.text(&hostMessage)
	ev.Cause = internCause(h.raw(&hostCause)).orNone()
	if h.next(&hostExpireMS) {
		ev.ExpireMS = h.integer(&hostExpireMS)
	}
	if h.next(&hostBanCode) {
		ev.BanCode = h.small(&hostBanCode)
	}
	if h.next(&hostSignal) {
		ev.Signal = h.text(&hostSignal)
	}

	in.Attempt = h.small(&hostAttempt)
	in.Step = h.small(&hostStep)
	if !h.ok {
		return false
	}
	if h.lit(hostSummary) {
		if decodeSummary(&h.reader, &in.Summary) != nil {
			return false
		}
		in.HasSummary = true
	}
	if h.key(&hostTraffic); !h.ok {
		return false
	}
	var err error
	if lazy {
		in.trafficRaw, err = h.skipObject()
	} else {
		err = decodeTraffic(&h.reader, &in.Traffic)
	}
	if err != nil {
		return false
	}
	if h.next(&hostProxy) {
		h.key(&hostProxy)
		if decodeProxy(&h.reader, &in.Proxy) != nil {
			return false
		}
		in.HasProxy = true
	}
	if h.key(&hostSettings); !h.ok {
		return false
	}
	if b := h.b[h.pos:]; len(b) >= 2 && b[0] == '{' && b[1] == '}' {
		in.Settings = Settings(b[:2]) // none, as decodeSettings would return them
		h.pos += 2
	} else if in.Settings, err = decodeSettings(&h.reader); err != nil {
		return false
	}

	if !h.lit(hostHistory) {
		return false
	}
	for first := true; h.pos < len(h.b) && h.b[h.pos] != ']'; first = false {
		if !first {
			if h.b[h.pos] != ',' {
				return false
			}
			h.pos++
		}
		if len(in.History) == MaxHistory {
			return false
		}
		in.History = append(in.History, HistoryEntry{})
		e := &in.History[len(in.History)-1]
		e.AtMS = h.integer(&hostAtMS)
		e.Kind = internKind(h.raw(&hostNextKind))
		e.Code = h.small(&hostCode)
		e.Action = internAction(h.raw(&hostAction))
		e.Step = h.small(&hostStep)
		if !h.ok || h.pos == len(h.b) || h.b[h.pos] != '}' {
			return false
		}
		h.pos++
	}
	return len(h.b)-h.pos == 2 && h.b[h.pos] == ']' && h.b[h.pos+1] == '}'
}

// pow10 holds the powers of ten up to 10^8.
var pow10 = [9]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// leadingDigits returns how many of the eight bytes of w, read
// little-endian as scan.Load does, are ASCII digits before the first other
// byte.
func leadingDigits(w uint64) int {
	// A byte below '0' borrows, one above '9' carries into its high bit.
	// As in scan.ZeroBytes, only the lowest mark is exact.
	return bits.TrailingZeros64(((w-scan.Ones*'0')|(w+scan.Ones*(0x7f-'9')))&scan.Highs) >> 3
}

// parseDigits returns the value of the first n bytes of w, n ASCII digits
// (n <= 8), as a decimal number. The digits are moved to the top bytes,
// where the bytes below read as leading zeros, and combined in pairs, in
// fours, then in eights: three multiplications instead of a step per
// digit.
func parseDigits(w uint64, n int) uint64 {
	w = (w - scan.Ones*'0') << (64 - 8*uint(n))
	w = w * (10<<8 + 1) >> 8
	w = (w & 0x00ff00ff00ff00ff) * (100<<16 + 1) >> 16
	return (w & 0x0000ffff0000ffff) * (10000<<32 + 1) >> 32
}

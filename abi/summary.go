package abi

import (
	"bytes"
	"strconv"
)

// SummaryWindowsMS are the windows of a HistorySummary, in milliseconds:
// 5 minutes, 1 hour and 24 hours (the whole history the host sends). They
// are fixed by the ABI version, so the document does not repeat them.
var SummaryWindowsMS = [3]int64{5 * 60 * 1000, 60 * 60 * 1000, 24 * 60 * 60 * 1000}

// HistoryTail is how many of the most recent history entries a module of
// ABI 1.1 or later receives; the summary, written whenever the history is
// longer, covers the rest.
const HistoryTail = 16

// HistorySummary is what the history says, computed by the host (ABI 1.1):
// counts over SummaryWindowsMS, in total and by kind, code and action, and
// when the last one of each happened. It spares a policy parsing a history
// that grows without bound within its 24 hours.
type HistorySummary struct {
	// Total counts the disconnects within each window.
	Total [3]int
	// Kinds, Codes and Actions count them by kind, code and action, in
	// order of first appearance, oldest first.
	Kinds   []KindTally
	Codes   []CodeTally
	Actions []ActionTally
}

// Tally counts disconnects within each of SummaryWindowsMS and records the
// time of the last one.
type Tally struct {
	Counts [3]int
	LastMS int64
}

// KindTally, CodeTally and ActionTally are the tallies of one kind, code or
// action.
type (
	KindTally struct {
		Kind Kind
		Tally
	}
	CodeTally struct {
		Code int
		Tally
	}
	ActionTally struct {
		Action Action
		Tally
	}
)

// Summarize computes the summary of history (oldest first) at nowMS. It
// reuses s's slices.
func Summarize(nowMS int64, history []HistoryEntry, s *HistorySummary) {
	*s = HistorySummary{Kinds: s.Kinds[:0], Codes: s.Codes[:0], Actions: s.Actions[:0]}
	for i := range history {
		h := &history[i]
		var in [3]bool
		for w, ms := range SummaryWindowsMS {
			if in[w] = h.AtMS >= nowMS-ms; in[w] {
				s.Total[w]++
			}
		}
		s.Kinds = tally(s.Kinds, func(t *KindTally) bool { return t.Kind == h.Kind }, KindTally{Kind: h.Kind}, in, h.AtMS)
		s.Codes = tally(s.Codes, func(t *CodeTally) bool { return t.Code == h.Code }, CodeTally{Code: h.Code}, in, h.AtMS)
		s.Actions = tally(s.Actions, func(t *ActionTally) bool { return t.Action == h.Action }, ActionTally{Action: h.Action}, in, h.AtMS)
	}
}

// tally adds one entry to the tally of ts that match selects, appending
// fresh when there is none.
func tally[T any, P interface {
	*T
	tally() *Tally
}](ts []T, match func(P) bool, fresh T, in [3]bool, atMS int64) []T {
	i := 0
	for i < len(ts) && !match(P(&ts[i])) {
		i++
	}
	if i == len(ts) {
		ts = append(ts, fresh)
	}
	t := P(&ts[i]).tally()
	for w := range in {
		if in[w] {
			t.Counts[w]++
		}
	}
	t.LastMS = max(t.LastMS, atMS)
	return ts
}

func (t *KindTally) tally() *Tally   { return &t.Tally }
func (t *CodeTally) tally() *Tally   { return &t.Tally }
func (t *ActionTally) tally() *Tally { return &t.Tally }

// Code returns the tally of code (zero when the history has none).
func (s *HistorySummary) Code(code int) Tally {
	for i := range s.Codes {
		if s.Codes[i].Code == code {
			return s.Codes[i].Tally
		}
	}
	return Tally{}
}

// Kind returns the tally of kind (zero when the history has none).
func (s *HistorySummary) Kind(kind Kind) Tally {
	for i := range s.Kinds {
		if s.Kinds[i].Kind == kind {
			return s.Kinds[i].Tally
		}
	}
	return Tally{}
}

// appendSummary appends the summary member of the input document.
func appendSummary(b []byte, s *HistorySummary) []byte {
	b = append(appendKey(b, "history_summary"), '{')
	b = appendCounts(appendKey(b, "total"), s.Total)
	b = append(appendKey(b, "kinds"), '[')
	for i := range s.Kinds {
		b = appendTally(appendStringField(appendOpen(b, i), "kind", string(s.Kinds[i].Kind)), &s.Kinds[i].Tally)
	}
	b = append(b, ']')
	b = append(appendKey(b, "codes"), '[')
	for i := range s.Codes {
		b = appendTally(appendIntField(appendOpen(b, i), "code", int64(s.Codes[i].Code)), &s.Codes[i].Tally)
	}
	b = append(b, ']')
	b = append(appendKey(b, "actions"), '[')
	for i := range s.Actions {
		b = appendTally(appendStringField(appendOpen(b, i), "action", string(s.Actions[i].Action)), &s.Actions[i].Tally)
	}
	return append(b, ']', '}')
}

func appendOpen(b []byte, i int) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	return append(b, '{')
}

func appendTally(b []byte, t *Tally) []byte {
	b = appendCounts(appendKey(b, "counts"), t.Counts)
	return append(appendIntField(b, "last_ms", t.LastMS), '}')
}

func appendCounts(b []byte, c [3]int) []byte {
	return append(strconv.AppendInt(append(strconv.AppendInt(append(strconv.AppendInt(append(b, '['),
		int64(c[0]), 10), ','), int64(c[1]), 10), ','), int64(c[2]), 10), ']')
}

var (
	entryStart = []byte(`{"at_ms":`)
	summaryKey = []byte(`history_summary"`)
)

// InputForMinor returns the input document doc as a module of ABI minor
// version minor receives it. A module older than ProxyMinor gets no proxy
// member, and the cause proxy_auth as "none". A module of minor 0 gets
// the whole history. A later module gets only the last HistoryTail history
// entries; history_summary covers the rest. The cut relies on the shape
// AppendJSON writes (history last, after history_summary, entries that
// start with `{"at_ms":`) and reads neither the history nor anything past
// it; any other document is returned unchanged. The result may share
// doc's memory.
func InputForMinor(minor uint16, doc []byte) []byte {
	if minor < ProxyMinor {
		doc = withoutProxy(doc)
	}
	if minor == 0 || !bytes.HasSuffix(doc, []byte("]}")) {
		return doc
	}
	// Without a summary there is nothing to cut. A document that spells
	// no summary key, even escaped, has none: the host's short histories
	// are passed on without reading a member. (The key is looked for
	// without its opening quote: the search then skips from 'h' to 'h',
	// rather than stopping at every quote.)
	if !bytes.Contains(doc, summaryKey) && bytes.IndexByte(doc, '\\') < 0 {
		return doc
	}
	// Read the members before the history (small: the summary, the
	// settings) to find where it starts; the history itself is not read.
	r := reader{b: doc}
	summary := false
	start := -1
	for first, err := true, r.openObject(); err == nil && start < 0; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			return doc
		}
		switch string(key) {
		case "history":
			if r.peek() != '[' {
				return doc
			}
			start = r.pos + 1
		case "history_summary":
			summary = true
			err = r.skip(0)
		default:
			err = r.skip(0)
		}
	}
	if start < 0 || !summary {
		return doc
	}
	cut := len(doc) - 2
	if bytes.IndexByte(doc[start:cut], ']') >= 0 {
		return doc // the history is not the last member
	}
	for n := 0; n < HistoryTail; {
		i := bytes.LastIndexByte(doc[start:cut], '{')
		if i < 0 {
			return doc // no more than HistoryTail entries
		}
		cut = start + i
		if bytes.HasPrefix(doc[cut:], entryStart) {
			n++
		}
	}
	if cut == start {
		return doc
	}
	out := make([]byte, 0, start+len(doc)-cut)
	return append(append(out, doc[:start]...), doc[cut:]...)
}

// decodeSummary decodes a history_summary object.
func decodeSummary(r *reader, s *HistorySummary) error {
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "total":
			err = decodeCounts(r, &s.Total)
		case "kinds":
			s.Kinds, err = decodeTallies(r, s.Kinds, func(t *KindTally, key []byte) (bool, error) {
				if string(key) != "kind" {
					return false, nil
				}
				v, err := r.rawString()
				t.Kind = internKind(v)
				return true, err
			}, func(t *KindTally) *Tally { return &t.Tally })
		case "codes":
			s.Codes, err = decodeTallies(r, s.Codes, func(t *CodeTally, key []byte) (bool, error) {
				if string(key) != "code" {
					return false, nil
				}
				var err error
				t.Code, err = small(r.int())
				return true, err
			}, func(t *CodeTally) *Tally { return &t.Tally })
		case "actions":
			s.Actions, err = decodeTallies(r, s.Actions, func(t *ActionTally, key []byte) (bool, error) {
				if string(key) != "action" {
					return false, nil
				}
				v, err := r.rawString()
				t.Action = internAction(v)
				return true, err
			}, func(t *ActionTally) *Tally { return &t.Tally })
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	return err
}

// decodeTallies decodes an array of tallies; own decodes the member that
// names what a tally counts.
func decodeTallies[T any](r *reader, ts []T, own func(*T, []byte) (bool, error), tally func(*T) *Tally) ([]T, error) {
	err := r.openArray()
	for first := true; err == nil; first = false {
		var more bool
		if more, err = r.element(first); err != nil || !more {
			break
		}
		if len(ts) >= MaxHistory {
			return ts, plainError("more than " + itoa(MaxHistory) + " tallies")
		}
		var zero T
		ts = append(ts, zero)
		t := &ts[len(ts)-1]
		err = r.openObject()
		for first := true; err == nil; first = false {
			var key []byte
			var ok bool
			if key, ok, err = r.member(first); err != nil || !ok {
				break
			}
			var done bool
			if done, err = own(t, key); done || err != nil {
			} else if string(key) == "counts" {
				err = decodeCounts(r, &tally(t).Counts)
			} else if string(key) == "last_ms" {
				tally(t).LastMS, err = r.int()
			} else {
				err = r.skip(0)
			}
			if err != nil {
				err = fieldError(string(key), err)
			}
		}
	}
	return ts, err
}

// decodeCounts decodes an array of one count per window. The fast path
// reads `[a,b,c]` as the host writes it, in one call.
func decodeCounts(r *reader, c *[3]int) error {
	if r.intArray(c[:]) {
		return nil
	}
	return decodeCountsSlow(r, c)
}

// intArray is the fast path of a fixed-length array of small
// non-negative integers written plainly, `[a,b,c]`: it reads one into dst
// and reports true, or reads nothing and reports false, for the caller's
// general path to read (or reject) it.
func (r *reader) intArray(dst []int) bool {
	b, pos := r.b, r.pos
	if pos >= len(b) || b[pos] != '[' {
		return false
	}
	pos++
	for i := range dst {
		v, digits := 0, 0
		for pos < len(b) && b[pos] >= '0' && b[pos] <= '9' && digits < 9 {
			v = v*10 + int(b[pos]-'0')
			pos++
			digits++
		}
		want := byte(',')
		if i == len(dst)-1 {
			want = ']'
		}
		if digits == 0 || (digits > 1 && b[pos-digits] == '0') || pos >= len(b) || b[pos] != want {
			return false
		}
		dst[i] = v
		pos++
	}
	r.pos = pos
	return true
}

func decodeCountsSlow(r *reader, c *[3]int) error {
	*c = [3]int{}
	err := r.openArray()
	i := 0
	for first := true; err == nil; first = false {
		var more bool
		if more, err = r.element(first); err != nil || !more {
			break
		}
		if i == len(c) {
			return plainError("more than " + itoa(int64(len(c))) + " counts")
		}
		c[i], err = small(r.int())
		i++
	}
	if err == nil && i != len(c) {
		err = plainError(itoa(int64(i)) + " counts, want " + itoa(int64(len(c))))
	}
	return err
}

package traffic

import (
	"time"

	"github.com/wahost/wahost/abi"
)

// window is the longest window kept: the input's 1 hour.
var window = time.Duration(abi.TrafficWindowsMS[1]) * time.Millisecond

// short is the window thresholds count in: the input's 5 minutes.
var short = time.Duration(abi.TrafficWindowsMS[0]) * time.Millisecond

// sample is one counted observation.
type sample struct {
	at     time.Time
	seq    uint64 // the instance's observation number, for the marks
	sender string // undecryptable only
	flags  uint8  // undecryptable only: flagUnavailable, flagHidden
}

const (
	flagUnavailable = 1 << iota
	flagHidden
)

// series is the samples of one counter within the last hour, oldest
// first.
type series []sample

func (s series) add(now time.Time, seq uint64, x sample) series {
	x.at, x.seq = now, seq
	return append(s.trim(now), x)
}

// trim drops the samples older than the window.
func (s series) trim(now time.Time) series {
	i := 0
	for i < len(s) && now.Sub(s[i].at) > window {
		i++
	}
	if i == 0 {
		return s
	}
	return append(s[:0], s[i:]...)
}

// counts counts the samples of each window matching keep (nil: all).
func (s series) counts(now time.Time, keep func(*sample) bool) abi.Counts {
	var c abi.Counts
	for i := range s {
		if keep != nil && !keep(&s[i]) {
			continue
		}
		for w, ms := range abi.TrafficWindowsMS {
			if now.Sub(s[i].at) <= time.Duration(ms)*time.Millisecond {
				c[w]++
			}
		}
	}
	return c
}

// since counts the samples within the short window and after the
// observation numbered mark.
func (s series) since(now time.Time, mark uint64) int {
	n := 0
	for i := range s {
		if now.Sub(s[i].at) <= short && s[i].seq > mark {
			n++
		}
	}
	return n
}

// state is one instance's traffic.
type state struct {
	undecryptable, sends, unacked, errors, retrySent, retryRecv series
	lastIncoming, lastReceipt, lastKeepAlive                    time.Time
	lastSendError                                               int
	// unreceipted is the first acknowledged send since the last receipt.
	unreceipted time.Time
	// seq numbers the observations; marks holds, for each signal, the
	// number of the observation that last raised it, and silenced when
	// the receipt silence was last raised.
	seq      uint64
	marks    map[string]uint64
	silenced time.Time
}

// observeLocked records o and returns the signal of a threshold it
// crossed, if any.
func (s *state) observeLocked(now time.Time, o Observation, th *Thresholds) string {
	s.seq++
	seq := s.seq
	switch o.Kind {
	case Undecryptable:
		var f uint8
		if o.Unavailable {
			f |= flagUnavailable
		}
		if o.Hidden {
			f |= flagHidden
		}
		s.undecryptable = s.undecryptable.add(now, seq, sample{sender: o.Sender, flags: f})
		if !o.Unavailable {
			s.retrySent = s.retrySent.add(now, seq, sample{})
		}
		return s.crossed(now, abi.SignalUndecryptable, s.undecryptable, th.Undecryptable)
	case Incoming:
		s.lastIncoming = now
	case Receipt:
		s.lastReceipt, s.unreceipted = now, time.Time{}
	case RetryReceipt:
		s.lastReceipt = now
		s.retryRecv = s.retryRecv.add(now, seq, sample{})
	case KeepAlive:
		at := o.At
		if at.IsZero() {
			at = now
		}
		s.lastKeepAlive = at
	case Sent:
		s.sends = s.sends.add(now, seq, sample{})
		silent := !s.unreceipted.IsZero() && th.ReceiptSilence > 0 && now.Sub(s.unreceipted) >= th.ReceiptSilence &&
			(s.silenced.IsZero() || now.Sub(s.silenced) >= th.ReceiptSilence)
		if s.unreceipted.IsZero() {
			s.unreceipted = now
		}
		if silent {
			s.silenced, s.unreceipted = now, now
			return abi.SignalReceiptSilence
		}
	case Unacked:
		s.sends = s.sends.add(now, seq, sample{})
		s.unacked = s.unacked.add(now, seq, sample{})
		return s.crossed(now, abi.SignalUnackedSends, s.unacked, th.UnackedSends)
	case SendError:
		s.sends = s.sends.add(now, seq, sample{})
		s.errors = s.errors.add(now, seq, sample{})
		s.lastSendError = o.Code
		return s.crossed(now, abi.SignalSendErrors, s.errors, th.SendErrors)
	}
	return ""
}

// crossed reports signal when ser holds at least limit samples within the
// short window since the signal was last raised.
func (s *state) crossed(now time.Time, signal string, ser series, limit int) string {
	if limit <= 0 || ser.since(now, s.marks[signal]) < limit {
		return ""
	}
	if s.marks == nil {
		s.marks = make(map[string]uint64)
	}
	s.marks[signal] = s.seq
	return signal
}

func (s *state) snapshotLocked(now time.Time) abi.Traffic {
	for _, p := range []*series{&s.undecryptable, &s.sends, &s.unacked, &s.errors, &s.retrySent, &s.retryRecv} {
		*p = p.trim(now)
	}
	t := abi.Traffic{
		Undecryptable:         s.undecryptable.counts(now, nil),
		Unavailable:           s.undecryptable.counts(now, func(x *sample) bool { return x.flags&flagUnavailable != 0 }),
		Hidden:                s.undecryptable.counts(now, func(x *sample) bool { return x.flags&flagHidden != 0 }),
		Sends:                 s.sends.counts(now, nil),
		UnackedSends:          s.unacked.counts(now, nil),
		SendErrors:            s.errors.counts(now, nil),
		RetryReceiptsSent:     s.retrySent.counts(now, nil),
		RetryReceiptsReceived: s.retryRecv.counts(now, nil),
		LastIncomingMS:        unixMS(s.lastIncoming),
		LastReceiptMS:         unixMS(s.lastReceipt),
		LastKeepAliveMS:       unixMS(s.lastKeepAlive),
		LastSendError:         s.lastSendError,
	}
	for w, ms := range abi.TrafficWindowsMS {
		seen := map[string]bool{}
		for i := range s.undecryptable {
			if x := &s.undecryptable[i]; now.Sub(x.at) <= time.Duration(ms)*time.Millisecond {
				seen[x.sender] = true
			}
		}
		t.UndecryptableSenders[w] = len(seen)
	}
	return t
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

package abi

import "strconv"

// TrafficWindowsMS are the windows of the Traffic counters, in
// milliseconds: 5 minutes and 1 hour (ABI 1.2).
var TrafficWindowsMS = [2]int64{5 * 60 * 1000, 60 * 60 * 1000}

// Counts holds one count per window of TrafficWindowsMS.
type Counts [2]int

// Traffic is what the host saw of the session's traffic (ABI 1.2): the
// counters over TrafficWindowsMS and when it last heard from WhatsApp. The
// counters are the instance's, across its connections, so that a policy
// sees a problem persist over a reconnect. Every input carries it.
type Traffic struct {
	// Undecryptable counts the messages that reached the session but could
	// not be read (whatsmeow's events.UndecryptableMessage), and
	// UndecryptableSenders the distinct senders among them.
	Undecryptable        Counts
	UndecryptableSenders Counts
	// Unavailable counts the undecryptable messages that were not sent to
	// this device at all (no ciphertext for it), and Hidden those whose
	// fail mode asks for no placeholder to be shown.
	Unavailable Counts
	Hidden      Counts
	// Sends counts the messages sent, UnackedSends those the server did
	// not acknowledge within the host's ack timeout, and SendErrors those
	// it answered with an error code (the last in LastSendError).
	Sends        Counts
	UnackedSends Counts
	SendErrors   Counts
	// RetryReceiptsSent counts the retry receipts the session sent (one per
	// message it failed to decrypt); RetryReceiptsReceived those it got
	// from recipients that failed to decrypt its messages.
	RetryReceiptsSent     Counts
	RetryReceiptsReceived Counts
	// LastIncomingMS, LastReceiptMS and LastKeepAliveMS are when the last
	// incoming message, receipt and keepalive answer came, Unix
	// milliseconds; 0 when none since the host started.
	LastIncomingMS  int64
	LastReceiptMS   int64
	LastKeepAliveMS int64
	// LastSendError is the error code of the last send the server refused,
	// 0 when none.
	LastSendError int
}

// The signals of a degraded event: which of the host's thresholds was
// crossed (Event.Signal).
const (
	SignalUndecryptable  = "undecryptable"
	SignalUnackedSends   = "unacked_sends"
	SignalSendErrors     = "send_errors"
	SignalReceiptSilence = "receipt_silence"
)

// appendTraffic appends the traffic member of the input document.
func appendTraffic(b []byte, t *Traffic) []byte {
	b = append(appendKey(b, "traffic"), '{')
	b = appendPair(appendKey(b, "undecryptable"), t.Undecryptable)
	b = appendPair(appendKey(b, "undecryptable_senders"), t.UndecryptableSenders)
	b = appendPair(appendKey(b, "unavailable"), t.Unavailable)
	b = appendPair(appendKey(b, "hidden"), t.Hidden)
	b = appendPair(appendKey(b, "sends"), t.Sends)
	b = appendPair(appendKey(b, "unacked_sends"), t.UnackedSends)
	b = appendPair(appendKey(b, "send_errors"), t.SendErrors)
	b = appendPair(appendKey(b, "retry_receipts_sent"), t.RetryReceiptsSent)
	b = appendPair(appendKey(b, "retry_receipts_received"), t.RetryReceiptsReceived)
	b = appendIntField(b, "last_incoming_ms", t.LastIncomingMS)
	b = appendIntField(b, "last_receipt_ms", t.LastReceiptMS)
	b = appendIntField(b, "last_keepalive_ms", t.LastKeepAliveMS)
	b = appendIntField(b, "last_send_error", int64(t.LastSendError))
	return append(b, '}')
}

func appendPair(b []byte, c Counts) []byte {
	return append(strconv.AppendInt(append(strconv.AppendInt(append(b, '['), int64(c[0]), 10), ','), int64(c[1]), 10), ']')
}

// decodeTraffic decodes a traffic object; unknown members are skipped.
func decodeTraffic(r *reader, t *Traffic) error {
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "undecryptable":
			err = decodePair(r, &t.Undecryptable)
		case "undecryptable_senders":
			err = decodePair(r, &t.UndecryptableSenders)
		case "unavailable":
			err = decodePair(r, &t.Unavailable)
		case "hidden":
			err = decodePair(r, &t.Hidden)
		case "sends":
			err = decodePair(r, &t.Sends)
		case "unacked_sends":
			err = decodePair(r, &t.UnackedSends)
		case "send_errors":
			err = decodePair(r, &t.SendErrors)
		case "retry_receipts_sent":
			err = decodePair(r, &t.RetryReceiptsSent)
		case "retry_receipts_received":
			err = decodePair(r, &t.RetryReceiptsReceived)
		case "last_incoming_ms":
			t.LastIncomingMS, err = r.int()
		case "last_receipt_ms":
			t.LastReceiptMS, err = r.int()
		case "last_keepalive_ms":
			t.LastKeepAliveMS, err = r.int()
		case "last_send_error":
			t.LastSendError, err = small(r.int())
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	return err
}

func decodePair(r *reader, c *Counts) error {
	if r.intArray(c[:]) { // the host's plain `[a,b]`, in one call
		return nil
	}
	*c = Counts{}
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

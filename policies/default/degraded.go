package defaultpolicy

import "github.com/wahost/wahost/abi"

// decideDegraded decides a degraded event (ABI 1.2): the session is open
// but its traffic crossed one of the host's thresholds.
//
//  1. degraded_undecryptable: messages from DegradedMinSenders senders or
//     more within 5 minutes could not be decrypted: reconnect with
//     DegradedUndecryptableStep (purge the cache);
//     degraded_undecryptable_reset: the same after a degraded reconnect of
//     at least that step within DegradedPersistWindowMS: reconnect with
//     DegradedPersistStep (reset the session: a new QR scan is needed).
//  2. degraded_one_sender: fewer senders: keep; whatsmeow's retry
//     receipts ask the sender to encrypt again.
//  3. degraded_unacked: sends went unacknowledged: reconnect with
//     DegradedUnackedStep.
//  4. degraded_silence: nothing came back from WhatsApp (no receipts):
//     reconnect with DegradedSilenceStep.
//  5. degraded_send_errors, degraded_unknown: keep; reconnecting does not
//     change the server's answer, nor help a signal this policy does not
//     know.
func decideDegraded(in *abi.Input, c *Config) abi.Decision {
	t := &in.Traffic
	switch in.Event.Signal {
	case abi.SignalUndecryptable:
		senders := t.UndecryptableSenders[0]
		if int64(senders) < c.DegradedMinSenders {
			return keep("degraded_one_sender", itoa(int64(t.Undecryptable[0]))+
				" undecryptable messages from "+itoa(int64(senders))+" sender(s): retry receipts handle it")
		}
		what := itoa(int64(t.Undecryptable[0])) + " undecryptable messages from " + itoa(int64(senders)) + " senders"
		if degradedBefore(in, c.DegradedPersistWindowMS, int(c.DegradedUndecryptableStep)) {
			return reconnect(c.DegradedDelayMS, int(c.DegradedPersistStep), "degraded_undecryptable_reset",
				what+", again after a reconnect: resetting the session, a new QR code scan is needed")
		}
		return reconnect(c.DegradedDelayMS, int(c.DegradedUndecryptableStep), "degraded_undecryptable", what+": reconnecting")
	case abi.SignalUnackedSends:
		return reconnect(c.DegradedDelayMS, int(c.DegradedUnackedStep), "degraded_unacked",
			itoa(int64(t.UnackedSends[0]))+" sends without a server acknowledgement: reconnecting")
	case abi.SignalReceiptSilence:
		return reconnect(c.DegradedDelayMS, int(c.DegradedSilenceStep), "degraded_silence",
			"no receipt from WhatsApp while sending: reconnecting")
	case abi.SignalSendErrors:
		return keep("degraded_send_errors", itoa(int64(t.SendErrors[0]))+" sends refused by the server (last code "+
			itoa(int64(t.LastSendError))+"): a reconnect would not change its answer")
	}
	return keep("degraded_unknown", "degraded traffic ("+in.Event.Signal+"): no rule for it")
}

// degradedBefore reports whether the history holds a degraded event
// answered with a reconnect of at least step within window ms. When the
// history was cut to its tail and does not reach back that far, the
// summary's last degraded event within the window answers.
func degradedBefore(in *abi.Input, window int64, step int) bool {
	from := in.NowMS - window
	h := in.History
	for i := range h {
		if h[i].AtMS >= from && h[i].Kind == abi.KindDegraded && h[i].Action == abi.ActionReconnect && h[i].Step >= step {
			return true
		}
	}
	if in.HasSummary && in.Summary.Total[2] > len(h) && (len(h) == 0 || h[0].AtMS >= from) {
		return in.Summary.Kind(abi.KindDegraded).LastMS >= from
	}
	return false
}

func keep(rule, reason string) abi.Decision {
	return abi.Decision{V: abi.DocVersion, Action: abi.ActionKeep, Rule: rule, Reason: reason}
}

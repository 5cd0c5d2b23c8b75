package config

import "time"

// Traffic configures the watch on each session's traffic (host/traffic)
// and the thresholds that raise a degraded event for the policy.
type Traffic struct {
	// AckTimeout is how long a send waits for the server's
	// acknowledgement before it counts as unacknowledged (and fails, to be
	// sent again later); at most messages.send_timeout is used.
	AckTimeout time.Duration `koanf:"ack_timeout"`
	// Thresholds raise a degraded event when crossed within 5 minutes.
	Thresholds TrafficThresholds `koanf:"thresholds"`
}

// TrafficThresholds are the counts within 5 minutes that raise a degraded
// event while a session is open; 0 turns one off.
type TrafficThresholds struct {
	// Undecryptable messages received.
	Undecryptable int `koanf:"undecryptable"`
	// UnackedSends: sends without an acknowledgement within ack_timeout.
	UnackedSends int `koanf:"unacked_sends"`
	// SendErrors: sends the server answered with an error code.
	SendErrors int `koanf:"send_errors"`
	// ReceiptSilence: a send acknowledged this long ago with no receipt
	// since (checked at each send); 0 turns it off.
	ReceiptSilence time.Duration `koanf:"receipt_silence"`
}

// defaultTraffic does not fire on one bad message.
func defaultTraffic() Traffic {
	return Traffic{
		AckTimeout: 30 * time.Second,
		Thresholds: TrafficThresholds{Undecryptable: 3, UnackedSends: 2, SendErrors: 5},
	}
}

// validate checks the traffic.* keys, reporting each bad one.
func (t *Traffic) validate(bad func(key, format string, args ...any)) {
	if t.AckTimeout < time.Second {
		bad("traffic.ack_timeout", "%s, want 1s or more", t.AckTimeout)
	}
	th := &t.Thresholds
	for _, c := range []struct {
		key string
		v   int
	}{
		{"traffic.thresholds.undecryptable", th.Undecryptable},
		{"traffic.thresholds.unacked_sends", th.UnackedSends},
		{"traffic.thresholds.send_errors", th.SendErrors},
	} {
		if c.v < 0 {
			bad(c.key, "%d, want 0 (off) or more", c.v)
		}
	}
	if th.ReceiptSilence < 0 {
		bad("traffic.thresholds.receipt_silence", "%s, want 0 (off) or more", th.ReceiptSilence)
	}
}

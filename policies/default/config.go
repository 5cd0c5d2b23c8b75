package defaultpolicy

import (
	"errors"
	"strconv"

	"github.com/wahost/wahost/abi"
)

// Config holds every number the default policy uses. Each field is a
// setting of the same name in snake case (see Defaults and README.md); a
// setting left out keeps the seed's value.
type Config struct {
	// LogoutCodes end the session instead of reconnecting.
	LogoutCodes []int64
	// CleanupCodes are the logout codes whose session, cache and files are
	// removed.
	CleanupCodes []int64
	// DelaysMS is the base reconnect delay per code, DefaultDelayMS for the
	// rest.
	DelaysMS       map[int]int64
	DefaultDelayMS int64
	// MaxDelayMS caps the backoff (before jitter).
	MaxDelayMS int64
	// MaxAttempts is how many reconnects run before giving up.
	MaxAttempts int64
	// Escalation is the step taken at each attempt (attempt n uses entry
	// n-1; past the end, the last entry).
	Escalation []int64
	// JitterPct adds up to this percentage of the delay, drawn from the
	// input's jitter seed.
	JitterPct int64
	// HistoryAbortCount ends a session that already dropped this many
	// times with the same code within HistoryWindowMS (0 disables).
	HistoryAbortCount int64
	HistoryWindowMS   int64
	// StormCount disconnects (this one included) within StormWindowMS
	// pause reconnects for StormPauseMS (0 disables).
	StormCount    int64
	StormWindowMS int64
	StormPauseMS  int64
	// A second "replaced" (440) within ReplacedWindowMS of the last one
	// ends the session instead of fighting the other client (0 disables).
	ReplacedWindowMS int64
	// QRTemporaryCodes are the codes that, during the QR phase, give back
	// one QR code and reconnect after QRReconnectDelayMS.
	QRTemporaryCodes   []int64
	QRReconnectDelayMS int64
	// Degraded events (ABI 1.2): undecryptable messages from at least
	// DegradedMinSenders senders reconnect with DegradedUndecryptableStep,
	// and with DegradedPersistStep when a degraded reconnect of that step
	// happened within DegradedPersistWindowMS; fewer senders keep the
	// session as it is. Unacknowledged sends reconnect with
	// DegradedUnackedStep, a receipt silence with DegradedSilenceStep.
	// Every degraded reconnect waits DegradedDelayMS.
	DegradedMinSenders        int64
	DegradedUndecryptableStep int64
	DegradedPersistStep       int64
	DegradedPersistWindowMS   int64
	DegradedUnackedStep       int64
	DegradedSilenceStep       int64
	DegradedDelayMS           int64
	// An instance behind a proxy pool (ABI 1.3) reconnects through the
	// next healthy proxy when its own is marked down, or when a network
	// failure follows ProxySwitchFailures failed connects through it
	// (0 disables both); never for a code of ProxyKeepCodes.
	ProxySwitchFailures int64
	ProxyKeepCodes      []int64
}

// Defaults returns the seed's values, plus the guards that go beyond it.
func Defaults() Config {
	return Config{
		LogoutCodes:  []int64{401, 402, 403, 405, 406, 411, 500},
		CleanupCodes: []int64{401, 403, 500},
		DelaysMS: map[int]int64{
			428: 2000, 408: 5000, 440: 3000, 515: 1000, 503: 10000,
		},
		DefaultDelayMS:     5000,
		MaxDelayMS:         300_000,
		MaxAttempts:        5,
		Escalation:         []int64{1, 1, 2, 2, 4},
		JitterPct:          20,
		HistoryAbortCount:  5,
		HistoryWindowMS:    24 * 3600 * 1000,
		StormCount:         5,
		StormWindowMS:      30_000,
		StormPauseMS:       60_000,
		ReplacedWindowMS:   600_000,
		QRTemporaryCodes:   []int64{428, 408, 503},
		QRReconnectDelayMS: 0,

		DegradedMinSenders:        2,
		DegradedUndecryptableStep: abi.StepPurge,
		DegradedPersistStep:       abi.StepReset,
		DegradedPersistWindowMS:   3600 * 1000,
		DegradedUnackedStep:       abi.StepReconnect,
		DegradedSilenceStep:       abi.StepReconnect,
		DegradedDelayMS:           0,

		ProxySwitchFailures: 2,
		ProxyKeepCodes:      []int64{401, 403},
	}
}

// ParseConfig reads settings over Defaults and checks the result.
func ParseConfig(s abi.Settings) (Config, error) {
	c := Defaults()
	var errs []error
	ints := func(key string, dst *[]int64) {
		v, err := s.Ints(key, *dst)
		errs = append(errs, err)
		*dst = v
	}
	num := func(key string, dst *int64) {
		v, err := s.Int(key, *dst)
		errs = append(errs, err)
		*dst = v
	}
	ints("logout_codes", &c.LogoutCodes)
	ints("cleanup_codes", &c.CleanupCodes)
	delays, err := s.IntMap("delays_ms", c.DelaysMS)
	errs = append(errs, err)
	c.DelaysMS = delays
	num("default_delay_ms", &c.DefaultDelayMS)
	num("max_delay_ms", &c.MaxDelayMS)
	num("max_attempts", &c.MaxAttempts)
	ints("escalation", &c.Escalation)
	num("jitter_pct", &c.JitterPct)
	num("history_abort_count", &c.HistoryAbortCount)
	num("history_window_ms", &c.HistoryWindowMS)
	num("storm_count", &c.StormCount)
	num("storm_window_ms", &c.StormWindowMS)
	num("storm_pause_ms", &c.StormPauseMS)
	num("replaced_window_ms", &c.ReplacedWindowMS)
	ints("qr_temporary_codes", &c.QRTemporaryCodes)
	num("qr_reconnect_delay_ms", &c.QRReconnectDelayMS)
	num("degraded_min_senders", &c.DegradedMinSenders)
	num("degraded_undecryptable_step", &c.DegradedUndecryptableStep)
	num("degraded_persist_step", &c.DegradedPersistStep)
	num("degraded_persist_window_ms", &c.DegradedPersistWindowMS)
	num("degraded_unacked_step", &c.DegradedUnackedStep)
	num("degraded_silence_step", &c.DegradedSilenceStep)
	num("degraded_delay_ms", &c.DegradedDelayMS)
	num("proxy_switch_failures", &c.ProxySwitchFailures)
	ints("proxy_keep_codes", &c.ProxyKeepCodes)
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.check()
}

func (c *Config) check() error {
	for code, d := range c.DelaysMS {
		if d < 0 {
			return errors.New("setting \"delays_ms\": delay for " + strconv.Itoa(code) + " is negative")
		}
	}
	for _, step := range c.Escalation {
		if step < abi.StepReconnect || step > abi.StepRecreate {
			return errors.New("setting \"escalation\": " + strconv.FormatInt(step, 10) + " is not a step (1 to 4)")
		}
	}
	for _, s := range []struct {
		name string
		step int64
	}{
		{"degraded_undecryptable_step", c.DegradedUndecryptableStep}, {"degraded_persist_step", c.DegradedPersistStep},
		{"degraded_unacked_step", c.DegradedUnackedStep}, {"degraded_silence_step", c.DegradedSilenceStep},
	} {
		if s.step < abi.StepReconnect || s.step > abi.StepRecreate {
			return errors.New("setting \"" + s.name + "\": " + strconv.FormatInt(s.step, 10) + " is not a step (1 to 4)")
		}
	}
	switch {
	case len(c.Escalation) == 0:
		return errors.New(`setting "escalation": needs at least one step`)
	case c.DefaultDelayMS < 0, c.MaxDelayMS < 0, c.StormPauseMS < 0, c.QRReconnectDelayMS < 0, c.DegradedDelayMS < 0:
		return errors.New("delay settings must not be negative")
	case c.JitterPct < 0 || c.JitterPct > 100:
		return errors.New(`setting "jitter_pct": ` + strconv.FormatInt(c.JitterPct, 10) + ` is outside [0, 100]`)
	case c.ProxySwitchFailures < 0:
		return errors.New(`setting "proxy_switch_failures": ` + strconv.FormatInt(c.ProxySwitchFailures, 10) + ` is negative`)
	case c.MaxAttempts < 1:
		return errors.New(`setting "max_attempts": ` + strconv.FormatInt(c.MaxAttempts, 10) + `, want at least 1`)
	}
	return nil
}

func contains(list []int64, v int) bool {
	for _, x := range list {
		if x == int64(v) {
			return true
		}
	}
	return false
}

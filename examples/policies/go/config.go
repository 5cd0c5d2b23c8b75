package main

import (
	"errors"
	"fmt"

	"github.com/wahost/wahost/abi"
)

// config is the policy's settings, each with its default
// (examples/policies/README.md lists them). The office is open from
// OpenHour to CloseHour local time on Workdays; local time is UTC plus
// TZOffsetMin minutes, a fixed offset.
type config struct {
	TZOffsetMin     int64
	OpenHour        int64
	CloseHour       int64
	Workdays        []int64 // 0 Sunday … 6 Saturday
	DayDelayMS      int64
	DayMaxDelayMS   int64
	NightDelayMS    int64
	NightMaxDelayMS int64
	MaxAttempts     int64 // in office hours; after hours it never gives up
	Escalation      []int64
	JitterPct       int64
}

// Bounds of the settings. Delays stay within the host's default ceiling,
// which also keeps every sum in decide far from overflowing.
const (
	maxDelayMS = 7 * dayMS
	maxList    = 16
)

func defaults() config {
	return config{
		OpenHour:        9,
		CloseHour:       18,
		Workdays:        []int64{1, 2, 3, 4, 5},
		DayDelayMS:      2_000,
		DayMaxDelayMS:   300_000,
		NightDelayMS:    30_000,
		NightMaxDelayMS: 1_800_000,
		MaxAttempts:     6,
		Escalation:      []int64{1, 1, 2, 3},
		JitterPct:       20,
	}
}

// parseConfig reads the settings over the defaults and checks them; the
// first problem, in the order of the settings table, is the error.
// Settings are the host's config, so a bad one is reported as the policy's
// error: the host logs it and uses its fallback decision until the
// operator fixes it.
func parseConfig(s abi.Settings) (config, error) {
	c := defaults()
	var err error
	num := func(key string, dst *int64) {
		if err == nil {
			*dst, err = s.Int(key, *dst)
		}
	}
	list := func(key string, dst *[]int64) {
		if err == nil {
			*dst, err = s.Ints(key, *dst)
		}
	}
	num("tz_offset_min", &c.TZOffsetMin)
	num("open_hour", &c.OpenHour)
	num("close_hour", &c.CloseHour)
	list("workdays", &c.Workdays)
	num("day_delay_ms", &c.DayDelayMS)
	num("day_max_delay_ms", &c.DayMaxDelayMS)
	num("night_delay_ms", &c.NightDelayMS)
	num("night_max_delay_ms", &c.NightMaxDelayMS)
	num("max_attempts", &c.MaxAttempts)
	list("escalation", &c.Escalation)
	num("jitter_pct", &c.JitterPct)
	if err == nil {
		err = c.check()
	}
	if err != nil {
		return c, fmt.Errorf("office-hours policy: %w", err)
	}
	return c, nil
}

// check returns the first setting out of its bounds. The messages are the
// same in the four languages of this example.
func (c *config) check() error {
	if c.TZOffsetMin < -840 || c.TZOffsetMin > 840 {
		return errors.New(`setting "tz_offset_min": must be between -840 and 840`)
	}
	if c.OpenHour < 0 || c.OpenHour >= c.CloseHour || c.CloseHour > 24 {
		return errors.New(`settings "open_hour" and "close_hour": want 0 <= open_hour < close_hour <= 24`)
	}
	if !within(c.Workdays, 0, 6) {
		return errors.New(`setting "workdays": want 1 to 16 days, each 0 (Sunday) to 6 (Saturday)`)
	}
	for _, d := range []struct {
		key string
		v   int64
	}{
		{"day_delay_ms", c.DayDelayMS},
		{"day_max_delay_ms", c.DayMaxDelayMS},
		{"night_delay_ms", c.NightDelayMS},
		{"night_max_delay_ms", c.NightMaxDelayMS},
	} {
		if d.v < 0 || d.v > maxDelayMS {
			return fmt.Errorf(`setting "%s": must be between 0 and 604800000`, d.key)
		}
	}
	if c.MaxAttempts < 1 {
		return errors.New(`setting "max_attempts": must be at least 1`)
	}
	if !within(c.Escalation, abi.StepReconnect, abi.StepRecreate) {
		return errors.New(`setting "escalation": want 1 to 16 steps, each 1 to 4`)
	}
	if c.JitterPct < 0 || c.JitterPct > 100 {
		return errors.New(`setting "jitter_pct": must be between 0 and 100`)
	}
	return nil
}

// within reports whether list has 1 to maxList entries, each in [lo, hi].
func within(list []int64, lo, hi int64) bool {
	if len(list) == 0 || len(list) > maxList {
		return false
	}
	for _, v := range list {
		if v < lo || v > hi {
			return false
		}
	}
	return true
}

// isWorkday reports whether the office opens on weekday d.
func (c *config) isWorkday(d int64) bool {
	for _, w := range c.Workdays {
		if w == d {
			return true
		}
	}
	return false
}

// isOpen reports whether the office is open at t.
func (c *config) isOpen(t localTime) bool {
	h := t.ofDay / hourMS
	return c.isWorkday(t.weekday) && h >= c.OpenHour && h < c.CloseHour
}

// untilOpen returns the milliseconds from t to the next opening, less than
// a week away (check requires a workday).
func (c *config) untilOpen(t localTime) int64 {
	midnight := t.ms - t.ofDay
	for d := int64(0); d <= 7; d++ {
		open := midnight + d*dayMS + c.OpenHour*hourMS
		if c.isWorkday((t.weekday+d)%7) && open > t.ms {
			return open - t.ms
		}
	}
	return 0
}

package main

import "fmt"

// The office's clock. It is computed from the input's now_ms with integer
// arithmetic rather than package time, so that the Rust, C and
// AssemblyScript versions of this policy can do exactly the same sums.
const (
	minuteMS = 60_000
	hourMS   = 60 * minuteMS
	dayMS    = 24 * hourMS
)

// localTime is a moment on the office's wall clock: UTC shifted by a fixed
// offset (no daylight saving time).
type localTime struct {
	ms      int64 // milliseconds since 1970-01-01 00:00 local
	weekday int64 // 0 Sunday … 6 Saturday
	ofDay   int64 // milliseconds since local midnight
}

func localAt(nowMS, offsetMin int64) localTime {
	ms := nowMS + offsetMin*minuteMS
	day := floorDiv(ms, dayMS)
	// 1970-01-01 was a Thursday.
	return localTime{ms: ms, weekday: floorMod(day+4, 7), ofDay: ms - day*dayMS}
}

// String renders t as "Mon 15:04 local", for reasons.
func (t localTime) String() string {
	const days = "SunMonTueWedThuFriSat"
	return fmt.Sprintf("%s %02d:%02d local", days[3*t.weekday:3*t.weekday+3], t.ofDay/hourMS, t.ofDay/minuteMS%60)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

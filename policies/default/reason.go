package defaultpolicy

import "sync/atomic"

// backoffReason is the backoff rule's reason: describe(code)+"; attempt
// n of max". Reasons are memoized, as most decisions are backoffs of a few
// codes at a few attempts: under WebAssembly building a new string costs
// about as much as the rest of the decision, its allocation included.
func backoffReason(code int, attempt, maxAttempts int64) string {
	slot := &backoffReasons[uint(code+31*int(attempt))%uint(len(backoffReasons))]
	if e := slot.Load(); e != nil && e.code == code && e.attempt == attempt && e.maxAttempts == maxAttempts {
		return e.reason
	}
	e := &reasonEntry{code, attempt, maxAttempts,
		describe(code) + "; attempt " + itoa(attempt) + " of " + itoa(maxAttempts)}
	slot.Store(e)
	return e.reason
}

// backoffReasons holds the last backoff reason written for each slot.
// Entries are never changed once stored, so the memo is safe for
// concurrent use: a reader sees a whole entry or the next one.
var backoffReasons [64]atomic.Pointer[reasonEntry]

type reasonEntry struct {
	code                 int
	attempt, maxAttempts int64
	reason               string
}

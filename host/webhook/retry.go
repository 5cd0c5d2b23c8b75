package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry timing.
const (
	BackoffBase   = time.Second      // the first retry waits up to this
	BackoffCap    = 10 * time.Minute // no retry waits longer, unless Retry-After asks
	MaxRetryAfter = time.Hour        // a longer Retry-After is cut to this
)

// verdict is what one delivery attempt means for its event.
type verdict int

const (
	verdictDelivered verdict = iota // 2xx
	verdictRetry                    // network error, timeout, 408, 429, 5xx
	verdictPermanent                // any other status
)

// classify maps a response status to a verdict under a retry rule
// (RetryWahost when empty). Redirects are never followed, so a 3xx fails
// at once under either rule.
func classify(status int, rule string) verdict {
	switch {
	case status >= 200 && status < 300:
		return verdictDelivered
	case status >= 300 && status < 400:
		return verdictPermanent
	case rule == RetryEvolution:
		switch status {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusUnprocessableEntity:
			return verdictPermanent
		}
		return verdictRetry
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return verdictRetry
	default:
		return verdictPermanent
	}
}

// backoff returns the wait before the retry that follows attempt (1 for
// the first attempt): full jitter over BackoffBase doubled per attempt,
// at most BackoffCap, and never less than retryAfter (itself at most
// MaxRetryAfter).
func backoff(attempt int, retryAfter time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	ceiling := BackoffCap
	if attempt < 1 {
		attempt = 1
	}
	if shift := attempt - 1; shift < 30 {
		ceiling = min(BackoffBase<<shift, BackoffCap)
	}
	d := min(max(jitter(ceiling), 0), ceiling)
	return max(d, min(retryAfter, MaxRetryAfter))
}

// fullJitter returns a uniformly random duration in [0, d].
func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// parseRetryAfter reads a Retry-After header, delay-seconds or an HTTP
// date, as a wait from now; 0 when absent, malformed or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(at.Sub(now), 0), MaxRetryAfter)
}

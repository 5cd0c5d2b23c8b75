package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of every webhook request.
const (
	HeaderEvent     = "X-Wahost-Event"     // the event's wire name
	HeaderDelivery  = "X-Wahost-Delivery"  // the event ID: the idempotency key
	HeaderTimestamp = "X-Wahost-Timestamp" // unix seconds when the request was sent
	HeaderSignature = "X-Wahost-Signature" // "v1=" + hex HMAC-SHA256; only with a secret
)

// DefaultTolerance is how far a signed timestamp may be from the
// receiver's clock when VerifySignature is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors VerifySignature returns; a receiver answers all of them with 401
// or 400, which wahost does not retry.
var (
	// ErrNoSignature reports a request without the signature or timestamp
	// header: wahost sends it unsigned (no secret configured) or the
	// request is not from wahost.
	ErrNoSignature = errors.New("webhook: request is not signed")
	// ErrBadSignature reports a signature that does not match the body
	// and timestamp: a wrong secret, or a request altered or forged.
	ErrBadSignature = errors.New("webhook: signature does not match")
	// ErrStaleTimestamp reports a timestamp outside the tolerance: a
	// replayed request, or clocks too far apart.
	ErrStaleTimestamp = errors.New("webhook: timestamp outside tolerance")
)

// sign returns the signature header value for body sent at ts.
func sign(secret string, ts int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts, 10), body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a webhook request as a receiver gets it: the
// X-Wahost-Signature header must hold a v1 HMAC-SHA256, keyed by secret,
// of the X-Wahost-Timestamp header, a dot and the raw body, and the
// timestamp must be within tolerance of now (DefaultTolerance when
// tolerance is 0 or less). Several comma-separated signatures are allowed;
// one match is enough. Pass the body exactly as read, before any JSON
// decoding.
func VerifySignature(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return errors.New("webhook: verify signature: empty secret")
	}
	rawTS, rawSig := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if rawTS == "" || rawSig == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(rawTS, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not unix seconds", ErrStaleTimestamp, HeaderTimestamp, rawTS)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	sent := time.Unix(ts, 0)
	if d := now.Sub(sent); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: sent at %s, now %s, tolerance %s", ErrStaleTimestamp,
			sent.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, rawTS, body)
	for part := range strings.SplitSeq(rawSig, ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(part), "v1=")
		if !ok {
			continue
		}
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrBadSignature
}

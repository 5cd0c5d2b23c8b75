package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Retry rules (Config.RetryRule): which answers of a receiver are retried.
const (
	// RetryWahost retries network errors, timeouts, 408, 429 and 5xx, and
	// fails any other status at once.
	RetryWahost = "wahost"
	// RetryEvolution retries every failure but 400, 401, 403, 404 and
	// 422, as Evolution API does, so a receiver written for Evolution that
	// answers, say, 409 or 410 while it is busy gets the event again.
	RetryEvolution = "evolution"
)

// CheckRetryRule checks a retry rule name; empty means RetryWahost.
func CheckRetryRule(rule string) error {
	switch rule {
	case "", RetryWahost, RetryEvolution:
		return nil
	}
	return fmt.Errorf("retry rule %q is neither %q nor %q", rule, RetryWahost, RetryEvolution)
}

// JWTHeader is the custom header name that Evolution API turns into
// "Authorization: Bearer <JWT>": its value keys an HS256 token with the
// claims {iat, exp: iat+600, app: "evolution", action: "webhook"}.
const JWTHeader = "jwt_key"

// jwtLifetime is how long the token of a jwt_key header is valid.
const jwtLifetime = 10 * time.Minute

// UserJID returns a JID without its device part, as Evolution API sends
// sender and wuid: "5511999999999:12@s.whatsapp.net" gives
// "5511999999999@s.whatsapp.net". Other JIDs are returned as they are.
func UserJID(jid string) string {
	user, server, ok := strings.Cut(jid, "@")
	if !ok {
		return jid
	}
	if i := strings.IndexByte(user, ':'); i >= 0 {
		user = user[:i]
	}
	return user + "@" + server
}

// customHeaders sets an instance's own headers on req, turning jwt_key
// into a Bearer JWT signed at now. wahost's own headers are set after
// these, so a custom header never overrides them.
func customHeaders(req *http.Request, headers map[string]string, now time.Time) {
	for name, value := range headers {
		if name == JWTHeader {
			req.Header.Set("Authorization", "Bearer "+signJWT(value, now))
			continue
		}
		req.Header.Set(name, value)
	}
}

// signJWT returns an HS256 JSON Web Token keyed by key, with the claims
// Evolution API's webhooks carry.
func signJWT(key string, now time.Time) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(struct {
		IAT    int64  `json:"iat"`
		EXP    int64  `json:"exp"`
		App    string `json:"app"`
		Action string `json:"action"`
	}{now.Unix(), now.Add(jwtLifetime).Unix(), "evolution", "webhook"})
	unsigned := head + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

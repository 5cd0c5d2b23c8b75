package storage

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Size limits. Values over a limit are rejected with a *TooLargeError,
// never truncated.
const (
	MaxPayloadBytes = 1 << 20  // an outbox payload
	MaxJSONBytes    = 64 << 10 // a decision, shadow decision or disconnection object
	MaxRawBytes     = 64 << 10 // whatsmeow's raw reason
	MaxTextBytes    = 4 << 10  // messages, causes, errors, profile fields
	MaxURLBytes     = 2 << 10  // webhook and picture URLs
	MaxTokenLen     = 64       // statuses, kinds, actions, rules, event names, owners
	MaxEvents       = 64       // entries of InstanceSettings.WebhookEvents
	MaxHeaders      = 32       // entries of InstanceSettings.WebhookHeaders

	MaxMessagePayloadBytes = 32 << 20 // a message's payload (base64 media can be inside)
	MaxMessageKeyLen       = 128      // a message id or idempotency key
)

// Validate checks a new instance: its ID when set, its name and its state.
func (in Instance) Validate() error {
	if in.ID != "" {
		if err := ValidateID("id", in.ID); err != nil {
			return err
		}
	}
	if err := ValidateName(in.Name); err != nil {
		return err
	}
	return in.ValidateState()
}

// ValidateState checks the fields UpdateInstance writes; ID, Name and the
// timestamps are not looked at. An empty Status is allowed here (create
// fills it in); UpdateInstance rejects it.
func (in Instance) ValidateState() error {
	if in.Status != "" {
		if err := checkToken("status", string(in.Status), lowerToken); err != nil {
			return err
		}
	}
	return firstErr(
		checkText("owner_jid", in.OwnerJID, MaxTextBytes),
		checkText("profile_name", in.ProfileName, MaxTextBytes),
		checkText("profile_picture_url", in.ProfilePictureURL, MaxURLBytes),
		checkCount("qr_count", in.QRCount),
		checkCount("attempt", in.Attempt),
		checkCount("step", in.Step),
		checkJSON("disconnection_object", in.DisconnectionObject, MaxJSONBytes, true),
	)
}

// Validate checks a disconnect before it is recorded.
func (d Disconnect) Validate() error {
	if err := ValidateID("instance_id", d.InstanceID); err != nil {
		return err
	}
	if d.At.IsZero() {
		return &InputError{Field: "at", Reason: "zero time"}
	}
	if d.Latency < 0 {
		return &InputError{Field: "latency", Reason: "negative"}
	}
	return firstErr(
		checkToken("kind", d.Kind, lowerToken),
		optionalToken("action", d.Action),
		checkText("rule", d.Rule, MaxTextBytes),
		checkText("raw", d.Raw, MaxRawBytes),
		checkText("message", d.Message, MaxTextBytes),
		checkText("cause", d.Cause, MaxTextBytes),
		checkEncoded("decision", d.Decision, MaxJSONBytes, true, d.Encoded),
		checkJSON("shadow", d.Shadow, MaxJSONBytes, true),
		checkEncoded("input", d.Input, MaxJSONBytes, true, d.Encoded),
		checkSHA("policy_sha256", d.PolicySHA256),
		checkSHA("shadow_sha256", d.ShadowSHA256),
		checkCount("attempt", d.Attempt),
		checkCount("step", d.Step),
	)
}

// Validate checks an event before it is enqueued.
func (e OutboxEvent) Validate() error {
	if e.ID != "" {
		if err := ValidateID("id", e.ID); err != nil {
			return err
		}
	}
	if err := ValidateID("instance_id", e.InstanceID); err != nil {
		return err
	}
	return firstErr(
		checkToken("event", e.Event, eventToken),
		checkEncoded("payload", e.Payload, MaxPayloadBytes, false, e.Encoded),
		checkText("destination", e.Destination, MaxURLBytes),
	)
}

// Validate checks a message before it is inserted. Seq and the timestamps
// the store sets are not looked at.
func (m Message) Validate() error {
	if err := ValidateID("instance_id", m.InstanceID); err != nil {
		return err
	}
	if err := ValidateMessageKey("id", m.ID); err != nil {
		return err
	}
	if m.IdempotencyKey != "" {
		if err := ValidateMessageKey("idempotency_key", m.IdempotencyKey); err != nil {
			return err
		}
	}
	if m.Chat == "" {
		return &InputError{Field: "chat", Reason: "empty"}
	}
	if err := ValidateMessageStatus(m.Status); err != nil {
		return err
	}
	if m.Status == MessageQueued && !m.FromMe {
		return &InputError{Field: "status", Reason: "only outgoing messages are queued"}
	}
	return firstErr(
		checkText("chat", m.Chat, MaxTextBytes),
		checkText("sender", m.Sender, MaxTextBytes),
		checkText("type", m.Type, MaxTokenLen),
		checkText("reason", m.Reason, MaxTextBytes),
		checkJSON("payload", m.Payload, MaxMessagePayloadBytes, true),
		checkCount("attempts", m.Attempts),
	)
}

// ValidateMessageKey checks a message id or idempotency key: 1 to
// MaxMessageKeyLen printable ASCII characters, no spaces.
func ValidateMessageKey(field, key string) error {
	if key == "" {
		return &InputError{Field: field, Reason: "empty"}
	}
	if len(key) > MaxMessageKeyLen {
		return &TooLargeError{Field: field, Size: len(key), Max: MaxMessageKeyLen}
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c > '~' {
			return &InputError{Field: field, Reason: "character " + quoteByte(c) + " not allowed"}
		}
	}
	return nil
}

// ValidateMessageStatus checks that s is a known status.
func ValidateMessageStatus(s MessageStatus) error {
	if s.Rank() < 0 {
		return &InputError{Field: "status", Reason: "unknown message status " + strconv.Quote(string(s))}
	}
	return nil
}

// Validate checks settings before they are stored.
func (s InstanceSettings) Validate() error {
	if s.WebhookURL != "" {
		if err := checkText("webhook_url", s.WebhookURL, MaxURLBytes); err != nil {
			return err
		}
		u, err := url.Parse(s.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &InputError{Field: "webhook_url", Reason: "must be an absolute http or https URL"}
		}
	}
	if len(s.WebhookEvents) > MaxEvents {
		return &InputError{Field: "webhook_events", Reason: "more than " + strconv.Itoa(MaxEvents) + " entries"}
	}
	for _, ev := range s.WebhookEvents {
		if err := checkToken("webhook_events", ev, eventToken); err != nil {
			return err
		}
	}
	if len(s.WebhookHeaders) > MaxHeaders {
		return &InputError{Field: "webhook_headers", Reason: "more than " + strconv.Itoa(MaxHeaders) + " entries"}
	}
	for name, value := range s.WebhookHeaders {
		if !headerName(name) {
			return &InputError{Field: "webhook_headers", Reason: strconv.Quote(name) + " is not a header name"}
		}
		if err := checkText("webhook_headers", value, MaxTextBytes); err != nil {
			return err
		}
		if strings.ContainsAny(value, "\r\n") {
			return &InputError{Field: "webhook_headers", Reason: "the value of " + name + " has a line break"}
		}
	}
	for field, sink := range map[string]SinkSettings{"rabbitmq_events": s.RabbitMQ, "nats_events": s.NATS} {
		if len(sink.Events) > MaxEvents {
			return &InputError{Field: field, Reason: "more than " + strconv.Itoa(MaxEvents) + " entries"}
		}
		for _, ev := range sink.Events {
			if err := checkToken(field, ev, eventToken); err != nil {
				return err
			}
		}
	}
	if s.TokenSHA256 != "" && (len(s.TokenSHA256) != 64 || strings.Trim(s.TokenSHA256, "0123456789abcdef") != "") {
		return &InputError{Field: "token_sha256", Reason: "must be 64 lower-case hex digits"}
	}
	return firstErr(
		checkText("policy_override", s.PolicyOverride, MaxTextBytes),
		checkCount("qr_limit", s.QRLimit),
		checkText("token", s.Token, MaxTextBytes),
		checkText("proxy", s.Proxy, MaxURLBytes),
	)
}

// headerName reports whether name is an HTTP header field name (RFC 9110
// token).
func headerName(name string) bool {
	if name == "" || len(name) > MaxTokenLen {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// ValidateOwner checks a lease owner (host id) or worker name.
func ValidateOwner(field, owner string) error {
	if owner == "" {
		return &InputError{Field: field, Reason: "empty"}
	}
	return checkText(field, owner, MaxTokenLen)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkText(field, s string, limit int) error {
	if len(s) > limit {
		return &TooLargeError{Field: field, Size: len(s), Max: limit}
	}
	if !utf8.ValidString(s) {
		return &InputError{Field: field, Reason: "not valid UTF-8"}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return &InputError{Field: field, Reason: "contains a NUL byte"}
		}
	}
	return nil
}

func checkCount(field string, n int) error {
	if n < 0 {
		return &InputError{Field: field, Reason: "negative"}
	}
	if n > 1<<31-1 {
		return &InputError{Field: field, Reason: "over 2147483647"}
	}
	return nil
}

// checkEncoded is checkJSON for a document that, when encoded is set,
// this process wrote itself: then only its size is checked.
func checkEncoded(field string, b json.RawMessage, limit int, nilOK, encoded bool) error {
	if encoded && len(b) <= limit && (nilOK || len(b) > 0) {
		return nil
	}
	return checkJSON(field, b, limit, nilOK)
}

func checkJSON(field string, b json.RawMessage, limit int, nilOK bool) error {
	if len(b) == 0 {
		if nilOK {
			return nil
		}
		return &InputError{Field: field, Reason: "empty"}
	}
	if len(b) > limit {
		return &TooLargeError{Field: field, Size: len(b), Max: limit}
	}
	if !json.Valid(b) {
		return &InputError{Field: field, Reason: "not valid JSON"}
	}
	if string(b) == "null" {
		return &InputError{Field: field, Reason: "JSON null; leave the field empty instead"}
	}
	return nil
}

func checkSHA(field, s string) error {
	if s == "" {
		return nil
	}
	if len(s) != 64 {
		return &InputError{Field: field, Reason: "not 64 hex digits"}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return &InputError{Field: field, Reason: "not lower-case hex"}
		}
	}
	return nil
}

type tokenKind int

const (
	lowerToken tokenKind = iota // [a-z0-9_]
	eventToken                  // [a-z0-9_.-]
)

func optionalToken(field, s string) error {
	if s == "" {
		return nil
	}
	return checkToken(field, s, lowerToken)
}

func checkToken(field, s string, kind tokenKind) error {
	if s == "" {
		return &InputError{Field: field, Reason: "empty"}
	}
	if len(s) > MaxTokenLen {
		return &TooLargeError{Field: field, Size: len(s), Max: MaxTokenLen}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' ||
			kind == eventToken && (c == '.' || c == '-')
		if !ok {
			return &InputError{Field: field, Reason: "character " + quoteByte(c) + " not allowed"}
		}
	}
	return nil
}

// ValidateText checks free text for a field: at most limit bytes of UTF-8
// without NUL.
func ValidateText(field, s string, limit int) error { return checkText(field, s, limit) }

// ValidateLimit checks the batch size of a pruning call: 1..MaxPage.
func ValidateLimit(limit int) error {
	if limit < 1 || limit > MaxPage {
		return &InputError{Field: "limit", Reason: "must be 1.." + strconv.Itoa(MaxPage)}
	}
	return nil
}

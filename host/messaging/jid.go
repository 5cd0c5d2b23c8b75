package messaging

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// The JID servers a message can go to.
const (
	userServer  = "s.whatsapp.net"
	groupServer = "g.us"
)

// NormalizeJID turns a recipient into a chat JID: a phone number in
// international form ("+55 11 99999-9999", "5511999999999") becomes
// "5511999999999@s.whatsapp.net"; a user JID loses its device part
// ("…:7@s.whatsapp.net"); a group JID ("120363…@g.us") stays. Anything else
// is an *InputError on field.
func NormalizeJID(field, to string) (string, error) {
	to = strings.TrimSpace(to)
	if to == "" {
		return "", invalid(field, "empty; give a phone number in international form or a JID")
	}
	user, server, hasServer := strings.Cut(to, "@")
	if !hasServer {
		digits := strings.Map(func(r rune) rune {
			switch r {
			case '+', ' ', '-', '(', ')', '.':
				return -1
			}
			return r
		}, to)
		if !isDigits(digits) || len(digits) < 8 || len(digits) > 15 {
			return "", invalid(field, "%q is not a phone number in international form (country code first) or a JID", to)
		}
		return digits + "@" + userServer, nil
	}
	switch server {
	case userServer, "c.us":
		if i := strings.IndexAny(user, ":."); i >= 0 {
			user = user[:i]
		}
		if !isDigits(user) || len(user) < 5 || len(user) > 20 {
			return "", invalid(field, "%q is not a user JID (digits@s.whatsapp.net)", to)
		}
		return user + "@" + userServer, nil
	case groupServer:
		if user == "" || strings.Trim(user, "0123456789-") != "" || len(user) > 64 {
			return "", invalid(field, "%q is not a group JID (digits@g.us)", to)
		}
		return to, nil
	}
	return "", invalid(field, "%q: unsupported JID server %q (s.whatsapp.net or g.us)", to, server)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// NewID returns a WhatsApp message id in whatsmeow's form: "3EB0" and 18
// uppercase hex digits, from crypto/rand.
func NewID() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return "3EB0" + strings.ToUpper(hex.EncodeToString(b[:]))
}

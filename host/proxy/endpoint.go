package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Schemes a proxy URL may use.
const (
	SchemeHTTP   = "http"   // HTTP CONNECT, in clear to the proxy
	SchemeHTTPS  = "https"  // HTTP CONNECT over TLS to the proxy
	SchemeSOCKS5 = "socks5" // SOCKS5, the target's name resolved by the proxy
)

// Endpoint is one proxy: its address and, optionally, credentials. Its
// String is the masked form; the password leaves the package only in the
// proxy handshake.
type Endpoint struct {
	scheme, host, user, password string
	hasUser, hasPassword         bool
}

// Parse reads a proxy URL: http://, https:// or socks5://, an optional
// user and password, a host and a port; no path, query or fragment. Its
// errors never quote the password.
func Parse(raw string) (Endpoint, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Endpoint{}, fmt.Errorf("proxy URL %s: not a URL", Mask(raw))
	}
	e := Endpoint{scheme: strings.ToLower(u.Scheme), host: u.Host}
	switch e.scheme {
	case SchemeHTTP, SchemeHTTPS, SchemeSOCKS5:
	default:
		return Endpoint{}, fmt.Errorf("proxy URL %s: scheme %q, want http, https or socks5", Mask(raw), u.Scheme)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return Endpoint{}, fmt.Errorf("proxy URL %s: want host:port", Mask(raw))
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("proxy URL %s: a path, query or fragment is not allowed", Mask(raw))
	}
	if u.User != nil {
		e.user, e.hasUser = u.User.Username(), true
		e.password, e.hasPassword = u.User.Password()
	}
	return e, nil
}

// MustParse is Parse for URLs known to be valid; it panics otherwise.
func MustParse(raw string) Endpoint {
	e, err := Parse(raw)
	if err != nil {
		panic(err)
	}
	return e
}

// IsZero reports an Endpoint that names no proxy: a direct connection.
func (e Endpoint) IsZero() bool { return e.host == "" }

// ID names the proxy without its credentials: "socks5://10.0.0.7:1080".
// Health, metrics and the policy's input know a proxy by it.
func (e Endpoint) ID() string {
	if e.IsZero() {
		return ""
	}
	return e.scheme + "://" + e.host
}

// Scheme is http, https or socks5.
func (e Endpoint) Scheme() string { return e.scheme }

// Addr is the proxy's host:port.
func (e Endpoint) Addr() string { return e.host }

// User is the user name, empty when none.
func (e Endpoint) User() string { return e.user }

// HasPassword reports whether the URL carried a password.
func (e Endpoint) HasPassword() bool { return e.hasPassword }

// String is the masked URL: "http://user:***@host:port".
func (e Endpoint) String() string {
	if e.IsZero() {
		return ""
	}
	if !e.hasUser {
		return e.ID()
	}
	cred := url.PathEscape(e.user)
	if e.hasPassword {
		cred += ":***"
	}
	return e.scheme + "://" + cred + "@" + e.host
}

// URL is the full URL, credentials included, for storing the setting it
// came from; never log or return it.
func (e Endpoint) URL() string {
	if e.IsZero() {
		return ""
	}
	u := url.URL{Scheme: e.scheme, Host: e.host}
	switch {
	case e.hasPassword:
		u.User = url.UserPassword(e.user, e.password)
	case e.hasUser:
		u.User = url.User(e.user)
	}
	return u.String()
}

// Mask returns raw with the password of any URL in it replaced by ***,
// for text that may hold a proxy URL (an error, a setting echoed back).
func Mask(raw string) string {
	out := raw
	for i := 0; ; {
		j := strings.Index(out[i:], "://")
		if j < 0 {
			return out
		}
		start := i + j + 3
		end := start
		for end < len(out) && !strings.ContainsRune(" \t\n\"'/?#", rune(out[end])) {
			end++
		}
		authority := out[start:end]
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			if colon := strings.IndexByte(authority[:at], ':'); colon >= 0 {
				masked := authority[:colon] + ":***" + authority[at:]
				out = out[:start] + masked + out[end:]
				end = start + len(masked)
			}
		}
		i = end
	}
}

// ErrAuth: the proxy refused the credentials (HTTP 407, or SOCKS5
// authentication failed). Check the proxy's user and password.
var ErrAuth = errors.New("the proxy refused the credentials")

package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	xproxy "golang.org/x/net/proxy"
)

// Stages of a tunnel a DialError names.
const (
	StageProxy  = "proxy"  // reaching the proxy itself
	StageAuth   = "auth"   // the proxy refused the credentials
	StageTarget = "target" // the proxy could not reach the target
)

// DialError is a tunnel that could not be opened: Stage says whether the
// proxy was unreachable, refused the credentials or could not reach the
// target. Its text names the proxy masked; Err is the underlying error
// (a *net.OpError, ErrAuth, …).
type DialError struct {
	Proxy  string // the proxy's ID, no credentials
	Target string
	Stage  string
	Err    error
}

func (e *DialError) Error() string {
	what := map[string]string{
		StageProxy: "reaching the proxy", StageAuth: "authenticating to the proxy",
		StageTarget: "the proxy reaching " + e.Target,
	}[e.Stage]
	return fmt.Sprintf("through proxy %s: %s: %v", e.Proxy, what, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Timeout reports a deadline, so net/http and the session's causes see
// one.
func (e *DialError) Timeout() bool {
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout() || errors.Is(e.Err, context.DeadlineExceeded)
}

// Temporary is false: the caller decides whether to try again.
func (e *DialError) Temporary() bool { return false }

// StageOf returns the stage of a failed tunnel in err, "" when err is
// not one.
func StageOf(err error) string {
	var de *DialError
	if errors.As(err, &de) {
		return de.Stage
	}
	return ""
}

// Dialer opens TCP connections; net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Dial opens a TCP tunnel through e to target (host:port), reaching the
// proxy with forward (a net.Dialer when nil). An https proxy is spoken to
// over TLS.
func Dial(ctx context.Context, e Endpoint, forward Dialer, target string) (net.Conn, error) {
	if forward == nil {
		forward = &net.Dialer{KeepAlive: 30 * time.Second}
	}
	fail := func(stage string, err error) error {
		return &DialError{Proxy: e.ID(), Target: target, Stage: stage, Err: err}
	}
	if e.scheme == SchemeSOCKS5 {
		var auth *xproxy.Auth
		if e.hasUser {
			auth = &xproxy.Auth{User: e.user, Password: e.password}
		}
		d, err := xproxy.SOCKS5("tcp", e.host, auth, stageDialer{forward, fail})
		if err != nil {
			return nil, fail(StageProxy, err)
		}
		c, err := d.(xproxy.ContextDialer).DialContext(ctx, "tcp", target)
		if err != nil {
			var de *DialError
			if errors.As(err, &de) {
				return nil, de
			}
			if strings.Contains(err.Error(), "authentication failed") ||
				strings.Contains(err.Error(), "unsupported authentication method") {
				return nil, fail(StageAuth, fmt.Errorf("%w (%v)", ErrAuth, err))
			}
			return nil, fail(StageTarget, err)
		}
		return c, nil
	}
	c, err := forward.DialContext(ctx, "tcp", e.host)
	if err != nil {
		return nil, fail(StageProxy, err)
	}
	if e.scheme == SchemeHTTPS {
		host, _, _ := net.SplitHostPort(e.host)
		tc := tls.Client(c, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fail(StageProxy, err)
		}
		c = tc
	}
	if err := connect(ctx, c, e, target); err != nil {
		c.Close()
		return nil, fail(stageOf(err), err)
	}
	return c, nil
}

// stageDialer tags the SOCKS5 dialer's own connection failures as
// reaching the proxy.
type stageDialer struct {
	d    Dialer
	fail func(string, error) error
}

func (s stageDialer) Dial(network, addr string) (net.Conn, error) {
	return s.DialContext(context.Background(), network, addr)
}

func (s stageDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := s.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, s.fail(StageProxy, err)
	}
	return c, nil
}

// statusError is a CONNECT answered with another status than 200.
type statusError struct{ code int }

func (e statusError) Error() string {
	return fmt.Sprintf("the proxy answered CONNECT with HTTP %d", e.code)
}

func stageOf(err error) string {
	switch {
	case errors.Is(err, ErrAuth):
		return StageAuth
	case errors.As(err, new(statusError)):
		return StageTarget
	}
	return StageProxy
}

// connect asks an HTTP proxy for a tunnel to target over c.
func connect(ctx context.Context, c net.Conn, e Endpoint, target string) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(d)
		defer c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if e.hasUser {
		cred := base64.StdEncoding.EncodeToString([]byte(e.user + ":" + e.password))
		req += "Proxy-Authorization: Basic " + cred + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		return ctxErr(ctx, fmt.Errorf("sending CONNECT: %w", err))
	}
	br := bufio.NewReaderSize(c, 1)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("reading the CONNECT answer: %w", err))
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusProxyAuthRequired, resp.StatusCode == http.StatusUnauthorized:
		// 407 is the standard answer; tinyproxy answers a CONNECT with 401.
		return fmt.Errorf("%w (HTTP %d)", ErrAuth, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return statusError{resp.StatusCode}
	}
	return nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// DialFunc dials a connection for an HTTP transport.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Via returns a DialFunc that tunnels every connection through e to
// route(addr): the address the transport asks for in production, a fixed
// one (a test server's) otherwise.
func Via(e Endpoint, route func(addr string) string) DialFunc {
	return func(ctx context.Context, _, addr string) (net.Conn, error) {
		if route != nil {
			addr = route(addr)
		}
		return Dial(ctx, e, nil, addr)
	}
}

// HTTPClient returns a client whose every connection goes through e, TLS
// to the target on top of the tunnel for https and wss URLs. timeout
// becomes http.Client.Timeout (whatsmeow's websocket library applies it
// to the dial and the upgrade only).
func HTTPClient(e Endpoint, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = Via(e, nil)
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := Dial(ctx, e, nil, addr)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(c, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS to %s through proxy %s: %w", addr, e.ID(), err)
		}
		return tc, nil
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// HTTPClientTo returns a client whose every connection, plain or "TLS",
// is a tunnel through e to the TCP address addr whatever host a request
// names, used as is: the fake WhatsApp server (host/wafake), which
// speaks wss:// in clear, is reached through a real proxy this way.
func HTTPClientTo(e Endpoint, addr string, timeout time.Duration) *http.Client {
	dial := Via(e, func(string) string { return addr })
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DialContext: dial, DialTLSContext: dial}}
}

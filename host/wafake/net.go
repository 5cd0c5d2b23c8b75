package wafake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
)

// DialFunc dials a connection for an HTTP transport.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// HTTPClientFor returns an *http.Client whose every connection, plain or
// "TLS", comes from dial. A conn returned for an https/wss URL is used as
// if it were already TLS, so wss://web.whatsapp.com/ws/chat is spoken in
// clear HTTP/1.1 to whatever dial reaches. timeout, if positive, becomes
// http.Client.Timeout, which whatsmeow's websocket library applies to the
// dial and upgrade only.
func HTTPClientFor(dial DialFunc, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			// No Proxy: the environment must not redirect the fake.
			DialContext:    dial,
			DialTLSContext: dial,
		},
	}
}

// HTTPClientTo returns an HTTPClientFor that connects to the TCP address
// addr whatever host a request names.
func HTTPClientTo(addr string, timeout time.Duration) *http.Client {
	var d net.Dialer
	return HTTPClientFor(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}, timeout)
}

// DNSFailureHTTPClient returns an *http.Client whose every dial fails like
// a lookup of a host that does not exist: a *net.DNSError with IsNotFound.
func DNSFailureHTTPClient() *http.Client {
	return HTTPClientFor(func(_ context.Context, _, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{
			Err: "no such host", Name: host, IsNotFound: true,
		}}
	}, 0)
}

// Route makes cli open both its websockets, before and after login, and
// its media uploads and downloads with h.
func Route(cli *whatsmeow.Client, h *http.Client) {
	cli.SetWebsocketHTTPClient(h)
	cli.SetPreLoginHTTPClient(h)
	cli.SetMediaHTTPClient(h)
}

// RefusingAddr returns a loopback TCP address on which nothing listens,
// so dialing it is refused (ECONNREFUSED). The port was free a moment ago;
// another process could take it, which on loopback in tests is unlikely.
func RefusingAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserving a port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("releasing port %s: %w", addr, err)
	}
	return addr, nil
}

// BlackHole is a TCP endpoint that accepts connections and never answers:
// a websocket dial to it hangs until the caller's deadline
// (http.Client.Timeout), then fails with context.DeadlineExceeded.
type BlackHole struct {
	mu    sync.Mutex // guards conns
	conns []net.Conn

	ln   net.Listener
	done chan struct{}
}

// NewBlackHole listens on a loopback port.
func NewBlackHole() (*BlackHole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	b := &BlackHole{ln: ln, done: make(chan struct{})}
	go b.accept()
	return b, nil
}

func (b *BlackHole) accept() {
	defer close(b.done)
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
	}
}

// Addr is the address to dial.
func (b *BlackHole) Addr() string { return b.ln.Addr().String() }

// Close stops listening and closes the held connections.
func (b *BlackHole) Close() error {
	err := b.ln.Close()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		err = errors.Join(err, c.Close())
	}
	b.conns = nil
	return err
}

// StatusServer answers every HTTP request, including the websocket
// upgrade, with one status code; whatsmeow's Connect then fails with a
// socket.ErrWithStatusCode carrying it.
type StatusServer struct {
	ln   net.Listener
	hs   *http.Server
	done chan error
}

// NewStatusServer listens on a loopback port and answers with code.
func NewStatusServer(code int) (*StatusServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening: %w", err)
	}
	s := &StatusServer{ln: ln, done: make(chan error, 1), hs: &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, http.StatusText(code), code)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}}
	go func() { s.done <- s.hs.Serve(ln) }()
	return s, nil
}

// Addr is the address to dial.
func (s *StatusServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server.
func (s *StatusServer) Close() error {
	err := s.hs.Close()
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

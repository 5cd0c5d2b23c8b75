package wafake

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/util/keys"
)

// WebsocketPath is the path whatsmeow dials (see socket.URL).
const WebsocketPath = "/ws/chat"

// DefaultHandshakeTimeout bounds the Noise handshake when
// Config.HandshakeTimeout is zero.
const DefaultHandshakeTimeout = 20 * time.Second

// ErrServerClosed is returned by Accept after Close.
var ErrServerClosed = errors.New("wafake: server closed")

// Config configures a Server. The zero value is usable.
type Config struct {
	// Addr is the TCP address to listen on; empty means "127.0.0.1:0".
	Addr string
	// Script runs on every connection for which no script was enqueued
	// with Server.Enqueue; nil means Auto().
	Script Script
	// Logger receives handshake failures and script errors; nil discards.
	Logger *slog.Logger
	// Now is the server clock, used for node timestamps, certificates and
	// device identities; nil means time.Now.
	Now func() time.Time
	// HandshakeTimeout bounds each Noise handshake; zero means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// FullInitialUpload reports a prekey count of 0 to a device that has
	// uploaded no keys yet, as WhatsApp does, so that a freshly linked
	// whatsmeow device uploads its initial 812 keys. By default such a
	// device is told MinPreKeyCount-1 and uploads a batch of 50, which is
	// enough for tests and saves about a second per new device. Once keys
	// are stored the count is always the real one.
	FullInitialUpload bool
	// RateLimit refuses logins that come too soon after a device's
	// previous connection ended; the zero value refuses none. See
	// Server.SetRateLimit to change it while serving.
	RateLimit RateLimit
}

// Server is a fake WhatsApp web endpoint on a local TCP port. It accepts the
// websocket at WebsocketPath, completes the Noise_XX handshake with a
// certificate chain under the package root (see InstallRootKey), and hands
// every connection to a Script. Use HTTPClient to route a whatsmeow client
// to it.
type Server struct {
	mu       sync.Mutex // guards queue, accepted, wake, closed, accepts and wg.Add
	queue    []Script
	accepted []*Conn
	wake     chan struct{} // closed and replaced when accepted grows; closed for good by Close
	closed   bool
	accepts  int
	wg       sync.WaitGroup // one per websocket being served

	cfg       Config
	ln        net.Listener
	hs        *http.Server
	static    *keys.KeyPair
	certChain []byte
	baseCtx   context.Context // parent of every connection; cancelled by Close
	cancel    context.CancelFunc
	serveErr  chan error
	dir       directory // users, keys, groups, media, queues and faults: the relay's world
	mediaAuth string    // the auth token media_conn hands out and uploads must carry
}

// NewServer installs the package root key (InstallRootKey), listens on
// cfg.Addr and starts serving. Close releases it.
func NewServer(cfg Config) (*Server, error) {
	InstallRootKey()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Script == nil {
		cfg.Script = Auto()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	static := keys.NewKeyPair()
	chain, err := newCertChain(*static.Pub, cfg.Now())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	s := &Server{
		cfg:       cfg,
		ln:        ln,
		static:    static,
		certChain: chain,
		serveErr:  make(chan error, 1),
		wake:      make(chan struct{}),
		dir:       newDirectory(cfg.RateLimit),
		mediaAuth: newRef(),
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc(WebsocketPath, s.serveWebsocket)
	s.routeMedia(mux)
	s.hs = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	go func() { s.serveErr <- s.hs.Serve(ln) }()
	return s, nil
}

// Addr returns the address the server listens on, e.g. "127.0.0.1:41234".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// HTTPClient returns a new *http.Client that sends every request, whatever
// its URL, to this server. Give it to whatsmeow with Route.
func (s *Server) HTTPClient() *http.Client { return HTTPClientTo(s.Addr(), 0) }

// Enqueue queues scripts for the next connections, one script per
// connection in order of completed handshakes. Connections that find the
// queue empty run Config.Script.
func (s *Server) Enqueue(scripts ...Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, scripts...)
}

// Accept returns the next connection whose handshake completed, in order,
// waiting for one if needed. Every connection is delivered exactly once,
// whether or not anybody calls Accept; its script runs regardless.
func (s *Server) Accept(ctx context.Context) (*Conn, error) {
	for {
		s.mu.Lock()
		if len(s.accepted) > 0 {
			c := s.accepted[0]
			s.accepted = s.accepted[1:]
			s.mu.Unlock()
			return c, nil
		}
		closed, wake := s.closed, s.wake
		s.mu.Unlock()
		if closed {
			return nil, ErrServerClosed
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a connection: %w", ctx.Err())
		}
	}
}

// Accepts returns how many connections have completed the handshake.
func (s *Server) Accepts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepts
}

// Close stops listening, drops every connection and waits for their
// scripts to return. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.wake)
	s.mu.Unlock()

	err := s.hs.Close()
	s.cancel()
	s.wg.Wait()
	if serveErr := <-s.serveErr; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("closing server: %w", err)
	}
	return nil
}

// track registers one websocket being served; false means the server is
// closing and the request must be refused.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	if !s.track() {
		http.Error(w, "server closing", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.cfg.Logger.Warn("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(socket.FrameMaxSize)
	ctx, cancel := context.WithCancel(s.baseCtx)
	defer cancel()

	c := newConn(ctx, cancel, s, ws)
	hctx, hcancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	res, err := serverHandshake(hctx, c.wire, s.static, s.certChain)
	hcancel()
	if err != nil {
		s.cfg.Logger.Warn("noise handshake failed", "remote", r.RemoteAddr, "err", err)
		_ = ws.CloseNow()
		return
	}
	c.payload, c.clientStatic = res.payload, res.clientStatic
	script := s.admit(c)
	s.replaceOlder(c)
	c.serve(script)
	s.logout(c)
}

// admit publishes a connection that completed its handshake and picks its
// script.
func (s *Server) admit(c *Conn) Script {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepts++
	c.seq = s.accepts
	s.accepted = append(s.accepted, c)
	if !s.closed {
		close(s.wake)
		s.wake = make(chan struct{})
	}
	if len(s.queue) > 0 {
		script := s.queue[0]
		s.queue = s.queue[1:]
		return script
	}
	return s.cfg.Script
}

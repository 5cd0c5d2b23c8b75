package evolution

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// Executor is the executor's surface: the operator's actions on a session.
type Executor interface {
	// ForceReconnect drops the connection and connects again now.
	ForceReconnect(ctx context.Context, instanceID string, clean bool) error
	// Reset logs the instance out and cleans its session, announcing it.
	Reset(ctx context.Context, instanceID string) (executor.CleanupReport, error)
}

// Sessions are the session operations the routes start.
type Sessions interface {
	Connect(ctx context.Context, instanceID string) error
	PairPhone(ctx context.Context, instanceID, phone string) (string, error)
	Remove(ctx context.Context, instanceID string) error
	State(instanceID string) api.SessionState
}

// QRSource hands out the QR codes sessions show and the pairing code of a
// login by phone.
type QRSource interface {
	api.QRSource
	// Pairing returns the instance's current pairing code, "" when none.
	Pairing(instanceID string) string
}

// Webhooks is the dispatcher's surface: the events this API emits itself
// (instance.create, instance.delete, remove.instance) and the instances'
// destinations.
type Webhooks interface {
	Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error
	Nudge()
	SetInstance(instanceID string, s storage.InstanceSettings)
	ForgetInstance(instanceID string)
}

// Config wires the routes to the host's services.
type Config struct {
	Store    storage.Store
	Executor Executor
	Sessions Sessions
	QR       QRSource
	Webhooks Webhooks
	// Messaging carries the message and chat routes (and setPresence);
	// nil leaves them unrouted.
	Messaging Messaging
	// Proxies checks the proxy routes' settings (host/proxy.Pools); nil
	// refuses a proxy.
	Proxies api.Proxies
	// Brokers are the sink kinds the host publishes to (SinkRabbitMQ,
	// SinkNATS): their /rabbitmq and /nats settings routes store and
	// answer; the others answer empty, as Evolution's with the broker off.
	Brokers []string
	// APIKey is the host's key, Evolution's global AUTHENTICATION_API_KEY.
	APIKey string
	// KeepTokens stores instance tokens in clear beside their hash, so
	// webhooks can carry them (webhook.expose_apikey) and fetchInstances
	// can show them.
	KeepTokens bool
	// MaxBody caps request bodies; default 1 MiB (sendMedia with base64
	// media needs more: the host passes http.max_body).
	MaxBody int64
	// MaxSendBody caps the bodies of the send routes (base64 media);
	// default MaxBody.
	MaxSendBody int64
	// QRWait bounds how long connect and create wait for a QR code;
	// default 10s.
	QRWait time.Duration
	// Now tells the time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server serves Evolution API's routes.
type Server struct {
	cfg Config
	mux *http.ServeMux
}

// prefixes are the paths Server answers, known routes or not: Evolution's
// route groups, so that a route wahost lacks gets Evolution's 404.
var prefixes = []string{"/instance/", "/webhook/", "/message/", "/chat/", "/group/", "/call/", "/label/",
	"/business/", "/template/", "/settings/", "/proxy/", "/chatwoot/", "/typebot/", "/websocket/", "/rabbitmq/",
	"/nats/", "/sqs/"}

// New returns the handler of Evolution's routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Executor == nil || cfg.Sessions == nil || cfg.QR == nil || cfg.Webhooks == nil {
		return nil, errors.New("evolution: store, executor, sessions, QR source and webhooks are required")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("evolution: an API key is required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	cfg.MaxSendBody = max(cfg.MaxSendBody, cfg.MaxBody)
	if cfg.QRWait <= 0 {
		cfg.QRWait = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.global("POST /instance/create", s.create)
	s.list("GET /instance/fetchInstances", s.fetchInstances)
	s.instance("GET /instance/connect/{instance}", s.connect)
	s.instance("GET /instance/connectionState/{instance}", s.connectionState)
	s.instance("POST /instance/restart/{instance}", s.restart)
	s.instance("DELETE /instance/logout/{instance}", s.logout)
	s.instance("DELETE /instance/delete/{instance}", s.delete)
	s.instance("POST /webhook/set/{instance}", s.setWebhook)
	s.instance("GET /webhook/find/{instance}", s.findWebhook)
	s.instance("POST /proxy/set/{instance}", s.setProxy)
	s.instance("GET /proxy/find/{instance}", s.findProxy)
	s.sinkRoutes()
	if cfg.Messaging != nil {
		s.messageRoutes()
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound(fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path)))
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Wrap returns a handler that serves Evolution's paths (/instance/,
// /webhook/, /message/, /chat/ and the other route groups of Evolution)
// and hands every other request to next.
func (s *Server) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				w.Header().Set("X-Content-Type-Options", "nosniff")
				s.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// handler is a route's work once the caller is let in.
type handler func(w http.ResponseWriter, r *http.Request, inst storage.Instance) error

func (s *Server) serve(w http.ResponseWriter, r *http.Request, inst storage.Instance, h handler) {
	s.serveLimit(w, r, inst, s.cfg.MaxBody, h)
}

func (s *Server) serveLimit(w http.ResponseWriter, r *http.Request, inst storage.Instance, limit int64, h handler) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := h(w, r, inst); err != nil {
		e := asError(err)
		if e.Status >= 500 {
			id := api.ErrorID()
			s.cfg.Logger.ErrorContext(r.Context(), "evolution request failed", "method", r.Method, "path", r.URL.Path,
				"error_id", id, "error", err)
			if !errors.As(err, new(*Error)) { // driver text names hosts and ports: the log keeps it
				e = &Error{Status: e.Status, Message: []any{"internal error (id " + id + ")"}}
			}
		}
		writeError(w, e)
	}
}

// global routes take the host's key only.
func (s *Server) global(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.isGlobal(r) {
			writeError(w, unauthorized())
			return
		}
		s.serve(w, r, storage.Instance{}, h)
	})
}

// list routes take the host's key or any instance's token (the handler
// narrows the answer to the token's instance).
func (s *Server) list(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apikey") == "" {
			writeError(w, unauthorized())
			return
		}
		s.serve(w, r, storage.Instance{}, h)
	})
}

// instance routes name an instance: the host's key or that instance's own
// token opens them. As Evolution does, an unknown instance is 404 for
// anyone who sends a key.
func (s *Server) instance(pattern string, h handler) {
	s.instanceLimit(pattern, s.cfg.MaxBody, h)
}

// instanceLimit is instance with its own body limit.
func (s *Server) instanceLimit(pattern string, limit int64, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("apikey")
		if key == "" {
			writeError(w, unauthorized())
			return
		}
		name := r.PathValue("instance")
		inst, err := s.lookup(r.Context(), name)
		if err != nil {
			writeError(w, asError(err))
			return
		}
		if !s.isGlobal(r) {
			set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
			if err != nil || !tokenMatches(set, key) {
				writeError(w, unauthorized())
				return
			}
		}
		s.serveLimit(w, r, inst, limit, h)
	})
}

func (s *Server) isGlobal(r *http.Request) bool {
	key := r.Header.Get("apikey")
	return key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) == 1
}

// lookup finds an instance by name; a name wahost cannot hold is as
// unknown as a missing one.
func (s *Server) lookup(ctx context.Context, name string) (storage.Instance, error) {
	if storage.ValidateName(name) != nil {
		return storage.Instance{}, noInstance(name)
	}
	inst, err := s.cfg.Store.InstanceByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) {
		return inst, noInstance(name)
	}
	return inst, err
}

// tokenHash is how instance tokens are stored: lower-case hex SHA-256.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func tokenMatches(set storage.InstanceSettings, key string) bool {
	return set.TokenSHA256 != "" && subtle.ConstantTimeCompare([]byte(tokenHash(key)), []byte(set.TokenSHA256)) == 1
}

// jsTime formats t as JavaScript's Date.toISOString, as Evolution's
// answers carry times.
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

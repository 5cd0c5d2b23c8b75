// Package api is wahost's admin HTTP API: instances and their sessions,
// the disconnect history with every decision, per-instance webhook
// settings, failed webhooks, the policy's state and reloads, plus health,
// readiness and Prometheus metrics. openapi.yaml, served at /openapi.yaml,
// documents every route; a test keeps the two in step.
//
// Every route but /healthz, /readyz, /metrics and /openapi.yaml needs the
// API key, sent as the "apikey" header (as Evolution API clients send it)
// or as "Authorization: Bearer <key>". Errors are JSON objects
// {"error": {"code": ..., "message": ...}} whose message says what to fix;
// an internal failure answers 500 with the generic message "internal
// error" and an "id" under which the cause is logged.
package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/storage"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the API's OpenAPI document.
func OpenAPI() []byte { return openAPI }

// Sessions are the session operations the API starts.
type Sessions interface {
	// Connect starts a login: QR codes for an unpaired instance.
	Connect(ctx context.Context, instanceID string) error
	// PairPhone starts a login by phone code and returns the code the
	// user types on the phone.
	PairPhone(ctx context.Context, instanceID, phone string) (string, error)
	// Logout unlinks the device from the phone.
	Logout(ctx context.Context, instanceID string) error
	// Remove stops the instance's client and forgets it.
	Remove(ctx context.Context, instanceID string) error
	// State describes the live session.
	State(instanceID string) SessionState
}

// SessionState is the live state of an instance's client.
type SessionState struct {
	Phase     string     `json:"phase"`
	Connected bool       `json:"connected"`
	JID       string     `json:"jid,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
}

// QR is a QR code an instance shows.
type QR struct {
	Code  string    `json:"code"`
	PNG   string    `json:"base64"` // data:image/png;base64,...
	Count int       `json:"count"`
	At    time.Time `json:"at"`
}

// QRSource hands out the QR codes sessions show.
type QRSource interface {
	// Latest returns the instance's latest QR code, if it shows one.
	Latest(instanceID string) (QR, bool)
	// Wait waits for a QR code newer than the count given, until ctx
	// ends.
	Wait(ctx context.Context, instanceID string, after int) (QR, error)
}

// Policy is the policy manager's surface for the API.
type Policy interface {
	Status() policy.Status
}

// Webhooks is the dispatcher's surface for the API.
type Webhooks interface {
	SetInstance(instanceID string, s storage.InstanceSettings)
	ForgetInstance(instanceID string)
	Redeliver(ctx context.Context, id string) error
}

// Config wires the API to the host.
type Config struct {
	Store    storage.Store
	Executor *executor.Executor
	Sessions Sessions
	QR       QRSource
	Policy   Policy
	// Reload runs the reload loop now and returns its result.
	Reload   func(ctx context.Context) (policy.Reload, error)
	Webhooks Webhooks
	// HasPolicy reports whether the config has the named per-instance
	// policy (policy.overrides); nil means none are allowed.
	HasPolicy func(name string) bool
	// Proxies checks the instances' proxy settings and serves
	// GET /v1/proxies; nil refuses a proxy setting.
	Proxies Proxies
	// Diagnose builds an instance's diagnostics report.
	Diagnose func(ctx context.Context, inst storage.Instance) any
	// Ready reports whether the host can serve (database, policy).
	Ready func(ctx context.Context) error
	// Degraded, when it returns an error, makes a ready /readyz answer
	// {"status":"degraded","reason":...} (still 200): a dependency the
	// host can do without is missing (Redis, whose purges wait and retry;
	// a broker, whose events wait in the outbox).
	Degraded func(ctx context.Context) error
	// Gatherer serves /metrics; nil means the default registry.
	Gatherer prometheus.Gatherer
	// APIKey is required on every route but health and metrics.
	APIKey string
	// MaxBody caps request bodies; default 1 MiB.
	MaxBody int64
	// Messages is the messaging service; nil answers its routes with 503.
	Messages Messages
	// MaxMedia is the largest media the messaging service takes; the
	// send route's body limit follows it. Default 16 MiB.
	MaxMedia int64
	// QRWait bounds how long connect waits for the first QR code.
	// Default 20s.
	QRWait time.Duration
	Logger *slog.Logger
	// Commits returns a channel closed when the next unit of work that
	// wrote events commits (webhook.Dispatcher.Committed); event streams
	// wait on it. nil leaves them to EventPoll alone.
	Commits func() <-chan struct{}
	// Replay decides recorded disconnects again with another module; nil
	// answers POST /v1/policy/replay with 503.
	Replay Replayer
	// Rollout is the policy rollout; nil answers its routes with 404.
	Rollout Rollout
	// Fleet serves GET /v1/cluster; nil answers that this host is not
	// in a fleet.
	Fleet Fleet
	// EventPoll is how often an idle event stream reads the store anyway,
	// for events committed by other hosts. Default 2s.
	EventPoll time.Duration
}

// Server is the API's http.Handler.
type Server struct {
	settingsMu sync.Mutex // serialises settings updates

	cfg       Config
	mux       *http.ServeMux
	routes    []Route
	closing   chan struct{} // closed by CloseStreams
	closeOnce sync.Once
}

// Route is one documented route.
type Route struct {
	Method, Pattern string
	Public          bool
}

// New returns the API handler.
func New(cfg Config) (*Server, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("api: an API key is required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxMedia <= 0 {
		cfg.MaxMedia = 16 << 20
	}
	if cfg.QRWait <= 0 {
		cfg.QRWait = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Gatherer == nil {
		cfg.Gatherer = prometheus.DefaultGatherer
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), closing: make(chan struct{})}
	s.public("GET /healthz", s.healthz)
	s.public("GET /readyz", s.readyz)
	s.publicHandler("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	s.public("GET /openapi.yaml", s.openapi)

	s.private("POST /v1/instances", s.createInstance)
	s.private("GET /v1/instances", s.listInstances)
	s.private("GET /v1/instances/{name}", s.getInstance)
	s.private("DELETE /v1/instances/{name}", s.deleteInstance)
	s.private("POST /v1/instances/{name}/connect", s.connect)
	s.private("GET /v1/instances/{name}/qr", s.qr)
	s.private("POST /v1/instances/{name}/logout", s.logout)
	s.private("POST /v1/instances/{name}/reconnect", s.reconnect)
	s.private("POST /v1/instances/{name}/reset", s.reset)
	s.private("GET /v1/instances/{name}/diagnostics", s.diagnostics)
	s.private("GET /v1/instances/{name}/disconnects", s.disconnects)
	s.private("GET /v1/instances/{name}/settings", s.getSettings)
	s.private("PUT /v1/instances/{name}/settings", s.putSettings)
	s.private("GET /v1/webhooks/failed", s.failedWebhooks)
	s.private("POST /v1/webhooks/{id}/redeliver", s.redeliver)
	s.private("GET /v1/policy", s.policyStatus)
	s.private("POST /v1/policy/reload", s.policyReload)
	s.private("GET /v1/policy/shadow", s.shadowDiffs)
	s.private("GET /v1/policy/outcomes", s.policyOutcomes)
	s.private("GET /v1/policy/rollout", s.policyRollout)
	s.private("POST /v1/policy/rollout/{op}", s.policyRolloutOp)
	s.private("GET /v1/events", s.events)
	s.privateLimit("POST /v1/policy/replay", maxReplayModule, s.policyReplay)
	s.private("GET /v1/instances/{name}/webhooks", s.instanceWebhooks)
	s.private("GET /v1/proxies", s.listProxies)
	s.private("GET /v1/cluster", s.cluster)
	s.messageRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s %s; see /openapi.yaml", r.Method, r.URL.Path))
	})
	return s, nil
}

// Routes lists the routes the server serves.
func (s *Server) Routes() []Route { return s.routes }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.publicHandler(pattern, h)
}

func (s *Server) publicHandler(pattern string, h http.Handler) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Pattern: path, Public: true})
	s.mux.Handle(pattern, h)
}

func (s *Server) private(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Pattern: path})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wahost"`)
			writeError(w, http.StatusUnauthorized, "unauthorized",
				"missing or wrong API key: send it in the apikey header or as Authorization: Bearer <key>")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) authorized(r *http.Request) bool {
	key := r.Header.Get("apikey")
	if key == "" {
		if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			key = strings.TrimSpace(auth)
		}
	}
	return key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) == 1
}

// StateError is an operation the instance's current state does not
// allow (already connected, not connected, ...): 409 with its message.
type StateError struct{ Err error }

func (e *StateError) Error() string { return e.Err.Error() }
func (e *StateError) Unwrap() error { return e.Err }

// UpstreamError is WhatsApp being unreachable or refusing: 502 with its
// message. The drop it caused is decided by the policy like any other.
type UpstreamError struct{ Err error }

func (e *UpstreamError) Error() string { return e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// httpError is an error with the status and code the client gets.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, code: "invalid_request", msg: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &httpError{status: http.StatusConflict, code: "conflict", msg: fmt.Sprintf(format, args...)}
}

// fail maps err to a response: the API's own errors as they are, the
// store's sentinels to 404/409/400, anything else to 500 (logged, with a
// generic message).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		writeError(w, he.status, he.code, he.msg)
	case errors.As(err, new(*StateError)):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.As(err, new(*UpstreamError)):
		writeError(w, http.StatusBadGateway, "whatsapp_unreachable",
			err.Error()+"; the policy decides when to retry (GET the instance's disconnects)")
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body larger than %d bytes", mbe.Limit))
	case errors.Is(err, storage.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, storage.ErrDuplicateName):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, storage.ErrInvalidInput):
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, executor.ErrEnding):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		id := s.logInternal(r, err)
		writeErrorID(w, http.StatusGatewayTimeout, "timeout", "the request timed out", id)
	default:
		id := s.logInternal(r, err)
		writeErrorID(w, http.StatusInternalServerError, "internal", "internal error", id)
	}
}

// logInternal logs an error whose text is for the operator (driver
// messages name hosts and ports) and returns the id the client gets to
// quote.
func (s *Server) logInternal(r *http.Request, err error) string {
	id := ErrorID()
	s.cfg.Logger.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path,
		"error_id", id, "error", err)
	return id
}

// ErrorID returns a fresh id under which an internal error is logged and
// answered, so that a client's report leads to the log line.
func ErrorID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id,omitempty"`
	} `json:"error"`
}

// writeErrorID is writeError for an error logged under id.
func writeErrorID(w http.ResponseWriter, status int, code, msg, id string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.ID = code, msg, id
	writeJSON(w, status, b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON body into v strictly: unknown fields and trailing
// data are errors. An empty body leaves v as it is when optional.
func decode(r *http.Request, v any, optional bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case err.Error() == "EOF" && optional:
			return nil
		case err.Error() == "EOF":
			return badRequest("the request needs a JSON body")
		}
		return badRequest("malformed JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("malformed JSON body: more than one JSON value")
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	if s.cfg.Degraded != nil {
		if err := s.cfg.Degraded(r.Context()); err != nil {
			writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

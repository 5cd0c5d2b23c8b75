package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/host/messaging"
	"github.com/wahost/wahost/storage"
)

// Messages is the messaging service's surface for the API.
type Messages interface {
	Accept(ctx context.Context, instanceID string, out message.Outgoing, key string) (messaging.Accepted, error)
	Message(ctx context.Context, instanceID, id string) (storage.Message, error)
	List(ctx context.Context, q storage.MessageQuery) ([]storage.Message, error)
	Media(ctx context.Context, instanceID, id string) ([]byte, string, error)
	CheckNumbers(ctx context.Context, instanceID string, phones []string) ([]message.Check, error)
	MarkRead(ctx context.Context, instanceID, chat string, ids []string) ([]string, error)
	SendPresence(ctx context.Context, instanceID, chat string, p message.Presence) error
	ProfilePictureURL(ctx context.Context, instanceID, jid string) (string, error)
}

// messageRoutes registers the messaging routes. The send route's body
// limit follows MaxMedia (base64 is 4/3 of the bytes).
func (s *Server) messageRoutes() {
	sendLimit := max(s.cfg.MaxBody, s.cfg.MaxMedia/3*4+64<<10)
	s.privateLimit("POST /v1/instances/{name}/messages", sendLimit, s.sendMessage)
	s.private("GET /v1/instances/{name}/messages", s.listMessages)
	s.private("GET /v1/instances/{name}/messages/{id}", s.getMessage)
	s.private("GET /v1/instances/{name}/messages/{id}/media", s.messageMedia)
	s.private("POST /v1/instances/{name}/contacts/check", s.checkContacts)
	s.private("GET /v1/instances/{name}/contacts/{jid}/picture", s.contactPicture)
	s.private("POST /v1/instances/{name}/chats/{jid}/read", s.markRead)
	s.private("POST /v1/instances/{name}/presence", s.presence)
}

// privateLimit is private with its own body limit.
func (s *Server) privateLimit(pattern string, limit int64, h func(w http.ResponseWriter, r *http.Request) error) {
	method, path, _ := strings.Cut(pattern, " ")
	s.routes = append(s.routes, Route{Method: method, Pattern: path})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wahost"`)
			writeError(w, http.StatusUnauthorized, "unauthorized",
				"missing or wrong API key: send it in the apikey header or as Authorization: Bearer <key>")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// messaging returns the service, or an error when the host has none.
func (s *Server) messaging() (Messages, error) {
	if s.cfg.Messages == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "messaging is not enabled on this host"}
	}
	return s.cfg.Messages, nil
}

// messagingError sorts the messaging service's errors into responses.
func messagingError(err error) error {
	var ie *messaging.InputError
	var se *messaging.StateError
	var inv *message.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ie):
		return badRequest("%s", ie.Error())
	case errors.As(err, &inv):
		return badRequest("%s", inv.Reason)
	case errors.Is(err, messaging.ErrTooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, code: "too_large", msg: err.Error()}
	case errors.As(err, &se):
		return &httpError{status: http.StatusConflict, code: "conflict", msg: se.Error()}
	case errors.Is(err, message.ErrNotConnected):
		return &httpError{status: http.StatusConflict, code: "not_connected",
			msg: "the instance's session is not open; connect it first (POST /v1/instances/{name}/connect)"}
	case errors.Is(err, message.ErrNoMedia):
		return &httpError{status: http.StatusNotFound, code: "no_media", msg: "the message carries no media"}
	case errors.Is(err, message.ErrMediaUnreachable):
		return &UpstreamError{Err: err}
	}
	return err
}

// messageView is a stored message on the wire.
type messageView struct {
	ID        string          `json:"id"`
	Chat      string          `json:"chat"`
	Sender    string          `json:"sender,omitempty"`
	FromMe    bool            `json:"from_me"`
	Type      string          `json:"type,omitempty"`
	Status    string          `json:"status"`
	Reason    string          `json:"reason,omitempty"`
	Attempts  int             `json:"attempts"`
	Timestamp *time.Time      `json:"timestamp,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	Message   json.RawMessage `json:"message,omitempty"`
}

func messageViewOf(m storage.Message) messageView {
	v := messageView{
		ID: m.ID, Chat: m.Chat, Sender: m.Sender, FromMe: m.FromMe, Type: m.Type, Status: string(m.Status),
		Attempts: m.Attempts, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Message: messaging.Content(m),
	}
	if m.Status == storage.MessageFailed {
		v.Reason = m.Reason
	}
	if !m.Timestamp.IsZero() {
		ts := m.Timestamp.UTC()
		v.Timestamp = &ts
	}
	return v
}

package host

import (
	"context"
	"errors"
	"time"

	"github.com/wahost/wahost/host/api"
	"github.com/wahost/wahost/host/session"
)

// sessionsAPI presents the session manager to the API. qr, when set,
// learns the pairing codes of logins by phone.
type sessionsAPI struct {
	m  *session.Manager
	qr *qrHub
}

func (s sessionsAPI) Connect(ctx context.Context, id string) error {
	return apiError(s.m.Connect(ctx, id))
}

func (s sessionsAPI) Logout(ctx context.Context, id string) error {
	return apiError(s.m.Logout(ctx, id))
}

func (s sessionsAPI) Remove(ctx context.Context, id string) error {
	return apiError(s.m.Remove(ctx, id))
}

func (s sessionsAPI) PairPhone(ctx context.Context, id, phone string) (string, error) {
	code, err := s.m.PairPhone(ctx, id, phone)
	if err == nil && s.qr != nil {
		s.qr.setPairing(id, code)
	}
	return code, apiError(err)
}

// apiError sorts the session layer's errors into what the API answers:
// state conflicts, WhatsApp failures, and the rest.
func apiError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, session.ErrAlreadyConnected), errors.Is(err, session.ErrNotConnected),
		errors.Is(err, session.ErrPaired), errors.Is(err, session.ErrInterrupted), errors.Is(err, session.ErrClosed),
		errors.Is(err, session.ErrNotOwner):
		return &api.StateError{Err: err}
	case errors.Is(err, session.ErrNoHandler), errors.Is(err, context.Canceled):
		return err
	}
	return &api.UpstreamError{Err: err}
}
func (s sessionsAPI) State(id string) api.SessionState { return stateOf(s.m.State(id)) }

func stateOf(st session.State) api.SessionState {
	out := api.SessionState{Phase: string(st.Phase), Connected: st.Connected, JID: st.JID}
	if out.Phase == "" {
		out.Phase = "idle"
	}
	if !st.Since.IsZero() {
		t := st.Since.UTC().Truncate(time.Millisecond)
		out.Since = &t
	}
	return out
}

func (h *Host) sessionState(id string) api.SessionState { return stateOf(h.sessions.State(id)) }

package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/wahost/wahost/host/rollout"
)

// Rollout is the rollout controller's surface for the API.
type Rollout interface {
	Status() (rollout.State, bool)
	Operate(ctx context.Context, op string) (rollout.State, error)
}

// policyOutcomes is GET /v1/policy/outcomes?since=168h: the episodes of
// each policy, summarised.
func (s *Server) policyOutcomes(w http.ResponseWriter, r *http.Request) error {
	since := 7 * 24 * time.Hour
	if q := r.URL.Query().Get("since"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d <= 0 {
			return badRequest("since: %q is not a positive duration such as 24h", q)
		}
		since = d
	}
	eps, err := s.cfg.Store.Episodes(r.Context(), time.Now().Add(-since))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"since": since.String(), "policies": rollout.Summarise(eps)})
	return nil
}

// policyRollout is GET /v1/policy/rollout.
func (s *Server) policyRollout(w http.ResponseWriter, _ *http.Request) error {
	if s.cfg.Rollout == nil {
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: rollout.ErrNoRollout.Error()}
	}
	st, ok := s.cfg.Rollout.Status()
	if !ok {
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: rollout.ErrNoRollout.Error()}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// policyRolloutOp is POST /v1/policy/rollout/{op}: pause, resume,
// promote or abort.
func (s *Server) policyRolloutOp(w http.ResponseWriter, r *http.Request) error {
	op := r.PathValue("op")
	switch op {
	case "pause", "resume", "promote", "abort":
	default:
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: "no rollout operation " + op + " (pause, resume, promote, abort)"}
	}
	if s.cfg.Rollout == nil {
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: rollout.ErrNoRollout.Error()}
	}
	st, err := s.cfg.Rollout.Operate(r.Context(), op)
	switch {
	case errors.Is(err, rollout.ErrNoRollout):
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: err.Error()}
	case errors.Is(err, rollout.ErrState):
		return &httpError{status: http.StatusConflict, code: "conflict", msg: err.Error()}
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wahost/wahost/host/message"
	"github.com/wahost/wahost/storage"
)

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	m, err := svc.Message(r.Context(), inst.ID, r.PathValue("id"))
	if err != nil {
		return messageNotFound(inst, r.PathValue("id"), err)
	}
	writeJSON(w, http.StatusOK, messageViewOf(m))
	return nil
}

func messageNotFound(inst storage.Instance, id string, err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return &httpError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("instance %q has no message %q", inst.Name, id)}
	}
	return messagingError(err)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", storage.DefaultPage, 1, storage.MaxPage)
	if err != nil {
		return err
	}
	q := storage.MessageQuery{InstanceID: inst.ID, Chat: r.URL.Query().Get("chat"), Limit: int(limit)}
	if raw := r.URL.Query().Get("before"); raw != "" {
		if q.Before, q.BeforeSeq, err = parseCursor(raw); err != nil {
			return err
		}
	}
	list, err := svc.List(r.Context(), q)
	if err != nil {
		return messagingError(err)
	}
	out := make([]messageView, 0, len(list))
	for _, m := range list {
		out = append(out, messageViewOf(m))
	}
	body := map[string]any{"instance": inst.Name, "messages": out}
	if len(list) == int(limit) {
		last := list[len(list)-1]
		body["next_before"] = fmt.Sprintf("%d.%d", last.SortTime().UnixMicro(), last.Seq)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// parseCursor reads ?before=: a next_before cursor ("<unix µs>.<seq>") or
// an RFC 3339 time.
func parseCursor(raw string) (time.Time, int64, error) {
	if us, seq, ok := strings.Cut(raw, "."); ok && !strings.ContainsAny(raw, "-:T") {
		u, err1 := strconv.ParseInt(us, 10, 64)
		n, err2 := strconv.ParseInt(seq, 10, 64)
		if err1 == nil && err2 == nil {
			return time.UnixMicro(u).UTC(), n, nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, 0, badRequest("query before: %q is neither a next_before cursor nor an RFC 3339 time", raw)
	}
	return t, 0, nil
}

func (s *Server) messageMedia(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	data, mime, err := svc.Media(r.Context(), inst.ID, r.PathValue("id"))
	if err != nil {
		return messageNotFound(inst, r.PathValue("id"), err)
	}
	if mime == "" {
		mime = "application/octet-stream"
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return nil
}

type checkBody struct {
	Numbers []string `json:"numbers"`
}

func (s *Server) checkContacts(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	var body checkBody
	if err := decode(r, &body, false); err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	res, err := svc.CheckNumbers(r.Context(), inst.ID, body.Numbers)
	if err != nil {
		return messagingError(err)
	}
	if res == nil {
		res = []message.Check{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
	return nil
}

func (s *Server) contactPicture(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	url, err := svc.ProfilePictureURL(r.Context(), inst.ID, r.PathValue("jid"))
	if err != nil {
		return messagingError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jid": r.PathValue("jid"), "url": url})
	return nil
}

type readBody struct {
	// IDs are the messages to mark; empty marks the chat's unread ones.
	IDs []string `json:"ids,omitempty"`
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	var body readBody
	if err := decode(r, &body, true); err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	ids, err := svc.MarkRead(r.Context(), inst.ID, r.PathValue("jid"), body.IDs)
	if err != nil {
		return messagingError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": r.PathValue("jid"), "read": ids})
	return nil
}

type presenceBody struct {
	Presence message.Presence `json:"presence"`
	// JID is the chat for composing, recording and paused; empty for
	// available and unavailable.
	JID string `json:"jid,omitempty"`
}

func (s *Server) presence(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.messaging()
	if err != nil {
		return err
	}
	var body presenceBody
	if err := decode(r, &body, false); err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	if err := svc.SendPresence(r.Context(), inst.ID, body.JID, body.Presence); err != nil {
		return messagingError(err)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

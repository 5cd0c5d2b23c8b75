package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// The event stream, GET /v1/events: server-sent events carrying the
// webhooks' events in their envelope, read from the committed outbox in
// seq order. Each event's SSE id is its seq: a client that reconnects with
// Last-Event-ID resumes after it, with nothing lost or repeated, as long as
// the entries after it are still stored (database.history_retention); if
// they were pruned the stream first sends a "stream.gap" event.

const (
	streamPage      = 100              // entries read (and held) per query
	streamKeepalive = 15 * time.Second // comment line on an idle stream
	streamWrite     = 30 * time.Second // a client that takes longer to read is dropped
	// EventGap is the event a stream sends when entries the client asked
	// to resume after are no longer stored.
	EventGap = "stream.gap"
)

// streamConfig fills the stream's defaults.
func (s *Server) streamPoll() time.Duration {
	if s.cfg.EventPoll > 0 {
		return s.cfg.EventPoll
	}
	return 2 * time.Second
}

func (s *Server) committed() <-chan struct{} {
	if s.cfg.Commits == nil {
		return nil
	}
	return s.cfg.Commits()
}

// CloseStreams ends every open event stream and refuses new ones; call it
// when the HTTP server shuts down, which otherwise waits for them.
func (s *Server) CloseStreams() {
	s.closeOnce.Do(func() { close(s.closing) })
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) error {
	f, err := s.eventFilter(r)
	if err != nil {
		return err
	}
	after, resume, err := streamStart(r)
	if err != nil {
		return err
	}
	first, last, err := s.cfg.Store.EventBounds(r.Context())
	if err != nil {
		return err
	}
	if !resume {
		after = last // live only: what commits from now on
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: rc}
	sw.printf("retry: 2000\n\n")
	switch {
	case resume && first > 0 && after < first-1:
		sw.gap(first-1, after, first,
			fmt.Sprintf("events %d to %d were delivered and pruned: they cannot be resumed; reload the state from the API", after+1, first-1))
		after = first - 1
	case resume && after > last:
		// A position this store never gave: another database, or one
		// restored from a backup. Go on from its newest event.
		sw.gap(last, after, first,
			fmt.Sprintf("event %d is not in this store (its newest is %d): reload the state from the API", after, last))
		after = last
	}
	if err := sw.flush(); err != nil {
		return nil
	}
	return s.stream(r.Context(), sw, f, after)
}

// stream sends entries after pos until the client leaves or the server
// closes streams. It takes the commit signal before each read, so a commit
// between the read and the wait is never missed; the poll catches commits
// of other hosts sharing the database.
func (s *Server) stream(ctx context.Context, sw *sseWriter, f storage.EventFilter, pos int64) error {
	poll := time.NewTicker(s.streamPoll())
	defer poll.Stop()
	idle := time.NewTimer(streamKeepalive)
	defer idle.Stop()
	for {
		wake := s.committed()
		evs, err := s.cfg.Store.EventsAfter(ctx, pos, f, streamPage)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.cfg.Logger.WarnContext(ctx, "event stream read failed", "error", err)
			sw.printf(": read failed, retrying\n\n")
		}
		for _, ev := range evs {
			sw.event(ev.Seq, ev.Event, ev.Payload)
			pos = ev.Seq
		}
		if len(evs) > 0 {
			if sw.flush() != nil {
				return nil
			}
			idle.Reset(streamKeepalive)
		}
		if len(evs) == streamPage {
			continue // more are waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case <-wake:
		case <-poll.C:
		case <-idle.C:
			sw.printf(": keepalive\n\n")
			if sw.flush() != nil {
				return nil
			}
			idle.Reset(streamKeepalive)
		}
	}
}

// eventFilter reads ?instance=NAME and ?event=a,b (repeatable; webhook
// names in any of their spellings).
func (s *Server) eventFilter(r *http.Request) (storage.EventFilter, error) {
	var f storage.EventFilter
	q := r.URL.Query()
	if name := q.Get("instance"); name != "" {
		inst, err := s.lookupName(r.Context(), name)
		if err != nil {
			return f, err
		}
		f.InstanceID = inst.ID
	}
	for _, v := range q["event"] {
		for _, ev := range strings.Split(v, ",") {
			if ev = strings.TrimSpace(ev); ev == "" {
				continue
			}
			if len(ev) > 64 {
				return f, badRequest("event: %q is not an event name", ev)
			}
			f.Events = append(f.Events, webhook.EventName(ev))
		}
	}
	return f, nil
}

// streamStart reads where to start: the Last-Event-ID header (set by
// EventSource on reconnects), else ?after=SEQ; without either the stream
// sends only what commits from now on.
func streamStart(r *http.Request) (after int64, resume bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	name := "Last-Event-ID"
	if v == "" {
		v, name = r.URL.Query().Get("after"), "after"
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, badRequest("%s: %q is not an event id (a non-negative integer)", name, v)
	}
	return n, true, nil
}

// sseWriter writes server-sent events; the first write error sticks.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (sw *sseWriter) printf(format string, args ...any) {
	if sw.err == nil {
		_ = sw.rc.SetWriteDeadline(time.Now().Add(streamWrite))
		_, sw.err = fmt.Fprintf(sw.w, format, args...)
	}
}

// event writes one event; data is one line of JSON (the envelope is
// compact), so it needs a single data field.
func (sw *sseWriter) event(id int64, name string, data []byte) {
	sw.printf("id: %d\nevent: %s\ndata: %s\n\n", id, name, strings.ReplaceAll(string(data), "\n", "\ndata: "))
}

// gap writes a stream.gap event with id.
func (sw *sseWriter) gap(id, after, first int64, msg string) {
	data, _ := json.Marshal(map[string]any{"after": after, "first": first, "message": msg})
	sw.event(id, EventGap, data)
}

func (sw *sseWriter) flush() error {
	if sw.err == nil {
		sw.err = sw.rc.Flush()
	}
	return sw.err
}

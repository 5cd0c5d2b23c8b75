package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/policies/replay"
	"github.com/wahost/wahost/storage"
)

// Replayer decides recorded disconnects again with another module
// (policy.Manager.Replay).
type Replayer interface {
	Replay(ctx context.Context, name string, wasm []byte, recs []replay.Record) (policy.ReplayResult, error)
}

// maxReplayModule bounds an uploaded module; the built-in one is under 3 MiB.
const maxReplayModule = 32 << 20

type replayBody struct {
	// Module is a .wasm path on the host or a built-in name.
	Module   string `json:"module"`
	Instance string `json:"instance,omitempty"`
	Since    string `json:"since,omitempty"` // a Go duration, default 168h
}

// policyReplay is the `wahost policy replay` summary over this host's
// store: JSON {"module", "instance", "since"}, or a multipart form whose
// "module" part is the .wasm file.
func (s *Server) policyReplay(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Replay == nil {
		return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", msg: "replay is not available on this host"}
	}
	var body replayBody
	var wasm []byte
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return badRequest("malformed form: %v", err)
		}
		f, hdr, err := r.FormFile("module")
		if err != nil {
			return badRequest("module: attach the .wasm file as the form's \"module\" part")
		}
		defer f.Close()
		if wasm, err = io.ReadAll(f); err != nil {
			return err
		}
		body.Module = "upload:" + hdr.Filename
		body.Instance, body.Since = r.FormValue("instance"), r.FormValue("since")
	} else {
		if err := decode(r, &body, false); err != nil {
			return err
		}
		if strings.TrimSpace(body.Module) == "" {
			return badRequest("module: name a .wasm path on the host or a built-in (builtin:default), or upload the file as multipart")
		}
	}
	since := 7 * 24 * time.Hour
	if body.Since != "" {
		d, err := time.ParseDuration(body.Since)
		if err != nil || d <= 0 {
			return badRequest("since: %q is not a positive duration such as 24h", body.Since)
		}
		since = d
	}
	recs, err := s.records(r.Context(), body.Instance, time.Now().Add(-since))
	if err != nil {
		return err
	}
	res, err := s.cfg.Replay.Replay(r.Context(), body.Module, wasm, recs)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return &httpError{status: http.StatusUnprocessableEntity, code: "replay_failed", msg: err.Error()}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// records reads the recorded disconnects since since, of one instance or
// all, as the CLI's replay does.
func (s *Server) records(ctx context.Context, instance string, since time.Time) ([]replay.Record, error) {
	var insts []storage.Instance
	if instance != "" {
		inst, err := s.lookupName(ctx, instance)
		if err != nil {
			return nil, err
		}
		insts = []storage.Instance{inst}
	} else {
		var err error
		if insts, err = s.cfg.Store.ListInstances(ctx); err != nil {
			return nil, err
		}
	}
	recs := []replay.Record{}
	for _, inst := range insts {
		var before int64
		for {
			page, err := s.cfg.Store.ListDisconnects(ctx, inst.ID, before, storage.MaxPage)
			if err != nil {
				return nil, err
			}
			old := false
			for _, d := range page {
				if d.At.Before(since) {
					old = true
					break
				}
				recs = append(recs, replay.Record{
					ID: d.ID, InstanceID: inst.Name, At: d.At, Kind: d.Kind, Code: d.Code, Decision: d.Decision, Input: d.Input,
				})
			}
			if old || len(page) < storage.MaxPage {
				break
			}
			before = page[len(page)-1].ID
		}
	}
	return recs, nil
}

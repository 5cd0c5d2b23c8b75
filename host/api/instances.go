package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/proxy"
	"github.com/wahost/wahost/host/webhook"
	"github.com/wahost/wahost/storage"
)

// instanceView is an instance as the API returns it.
type instanceView struct {
	ID                      string          `json:"id"`
	Name                    string          `json:"name"`
	Status                  storage.Status  `json:"status"`
	OwnerJID                string          `json:"owner_jid,omitempty"`
	ProfileName             string          `json:"profile_name,omitempty"`
	ProfilePictureURL       string          `json:"profile_picture_url,omitempty"`
	QRCount                 int             `json:"qr_count"`
	Attempt                 int             `json:"attempt"`
	Step                    int             `json:"step"`
	DisconnectionAt         *time.Time      `json:"disconnection_at,omitempty"`
	DisconnectionReasonCode int             `json:"disconnection_reason_code,omitempty"`
	DisconnectionObject     json.RawMessage `json:"disconnection_object,omitempty"`
	CreatedAt               time.Time       `json:"created_at"`
	UpdatedAt               time.Time       `json:"updated_at"`
	Session                 *SessionState   `json:"session,omitempty"`
}

func view(inst storage.Instance) instanceView {
	return instanceView{
		ID: inst.ID, Name: inst.Name, Status: inst.Status, OwnerJID: inst.OwnerJID,
		ProfileName: inst.ProfileName, ProfilePictureURL: inst.ProfilePictureURL, QRCount: inst.QRCount,
		Attempt: inst.Attempt, Step: inst.Step, DisconnectionAt: inst.DisconnectionAt,
		DisconnectionReasonCode: inst.DisconnectionReasonCode, DisconnectionObject: inst.DisconnectionObject,
		CreatedAt: inst.CreatedAt, UpdatedAt: inst.UpdatedAt,
	}
}

// settingsBody is an instance's settings on the wire.
type settingsBody struct {
	Webhook *webhookBody `json:"webhook,omitempty"`
	QRLimit *int         `json:"qr_limit,omitempty"`
	// Policy names a per-instance policy (policy.overrides); "" is the
	// host's.
	Policy *string `json:"policy,omitempty"`
	// Proxy is a pool of proxies.pools or a proxy URL; "" uses
	// proxies.default. Answers mask its password.
	Proxy *string `json:"proxy,omitempty"`
	// RabbitMQ and NATS publish the instance's own events to the brokers
	// events.rabbitmq and events.nats configure.
	RabbitMQ *sinkBody `json:"rabbitmq,omitempty"`
	NATS     *sinkBody `json:"nats,omitempty"`
}

// sinkBody is an instance's broker sink on the wire.
type sinkBody struct {
	Enabled bool     `json:"enabled"`
	Events  []string `json:"events"` // empty means all
}

// apply checks b and returns the settings it asks for.
func (b *sinkBody) apply(field string) (storage.SinkSettings, error) {
	events := make([]string, 0, len(b.Events))
	for _, ev := range b.Events {
		name := webhook.EventName(ev) // MESSAGES_UPSERT → messages.upsert
		if strings.TrimSpace(ev) == "" || len(ev) > 64 || name == "" {
			return storage.SinkSettings{}, badRequest("%s.events: %q is not an event name", field, ev)
		}
		events = append(events, name)
	}
	return storage.SinkSettings{Enabled: b.Enabled, Events: events}, nil
}

func sinkView(s storage.SinkSettings) *sinkBody {
	if !s.Enabled && len(s.Events) == 0 {
		return nil
	}
	return &sinkBody{Enabled: s.Enabled, Events: append([]string{}, s.Events...)}
}

type webhookBody struct {
	URL      string   `json:"url"`
	Events   []string `json:"events,omitempty"`
	ByEvents bool     `json:"by_events,omitempty"`
	// Base64 sends the media of incoming messages inline, as
	// message.base64 in messages.upsert.
	Base64 bool `json:"base64,omitempty"`
}

func (b *settingsBody) apply(s *storage.InstanceSettings, hasPolicy func(string) bool, px Proxies) error {
	if b.Proxy != nil {
		if err := applyProxy(s, *b.Proxy, px); err != nil {
			return err
		}
	}
	if b.Policy != nil {
		if name := *b.Policy; name != "" && (hasPolicy == nil || !hasPolicy(name)) {
			return badRequest("policy: %q is not one of the config's policy.overrides", name)
		}
		s.PolicyOverride = *b.Policy
	}
	if b.Webhook != nil {
		if b.Webhook.URL != "" {
			if err := config.CheckWebhookURL(b.Webhook.URL); err != nil {
				return badRequest("webhook.url: %v", err)
			}
		}
		events := make([]string, 0, len(b.Webhook.Events))
		for _, ev := range b.Webhook.Events {
			if strings.TrimSpace(ev) == "" || len(ev) > 64 {
				return badRequest("webhook.events: %q is not an event name", ev)
			}
			name := webhook.EventName(ev) // CONNECTION_UPDATE → connection.update
			if !knownEvent(name) {
				return badRequest("webhook.events: %q is not a known event; known: %s", ev, knownEventList())
			}
			events = append(events, name)
		}
		s.WebhookURL, s.WebhookEvents, s.WebhookByEvents = b.Webhook.URL, events, b.Webhook.ByEvents
		s.WebhookBase64 = b.Webhook.Base64
	}
	for _, sk := range []struct {
		field string
		body  *sinkBody
		dst   *storage.SinkSettings
	}{{"rabbitmq", b.RabbitMQ, &s.RabbitMQ}, {"nats", b.NATS, &s.NATS}} {
		if sk.body == nil {
			continue
		}
		set, err := sk.body.apply(sk.field)
		if err != nil {
			return err
		}
		*sk.dst = set
	}
	if b.QRLimit != nil {
		if *b.QRLimit < 0 || *b.QRLimit > 1000 {
			return badRequest("qr_limit: %d is outside [0, 1000] (0 uses the host default)", *b.QRLimit)
		}
		s.QRLimit = *b.QRLimit
	}
	return nil
}

func settingsView(s storage.InstanceSettings) settingsBody {
	q, p, px := s.QRLimit, s.PolicyOverride, proxy.Mask(s.Proxy)
	b := settingsBody{QRLimit: &q, Policy: &p, Proxy: &px, RabbitMQ: sinkView(s.RabbitMQ), NATS: sinkView(s.NATS)}
	if s.WebhookURL != "" || len(s.WebhookEvents) > 0 || s.WebhookBase64 {
		b.Webhook = &webhookBody{URL: s.WebhookURL, Events: s.WebhookEvents, ByEvents: s.WebhookByEvents, Base64: s.WebhookBase64}
	}
	return b
}

type createBody struct {
	Name string `json:"name"`
	settingsBody
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request) error {
	var body createBody
	if err := decode(r, &body, false); err != nil {
		return err
	}
	if err := storage.ValidateName(body.Name); err != nil {
		return badRequest("name: %v", err)
	}
	var set storage.InstanceSettings
	if err := body.apply(&set, s.cfg.HasPolicy, s.cfg.Proxies); err != nil {
		return err
	}
	var inst storage.Instance
	err := s.cfg.Store.InTx(r.Context(), func(tx storage.Tx) error {
		var err error
		if inst, err = tx.CreateInstance(r.Context(), storage.Instance{Name: body.Name}); err != nil {
			return err
		}
		return tx.PutSettings(r.Context(), inst.ID, set)
	})
	if errors.Is(err, storage.ErrDuplicateName) {
		return conflict("an instance named %q exists already", body.Name)
	}
	if err != nil {
		return err
	}
	s.cfg.Webhooks.SetInstance(inst.ID, set)
	w.Header().Set("Location", "/v1/instances/"+inst.Name)
	writeJSON(w, http.StatusCreated, view(inst))
	return nil
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) error {
	list, err := s.cfg.Store.ListInstances(r.Context())
	if err != nil {
		return err
	}
	out := make([]instanceView, 0, len(list))
	for _, inst := range list {
		out = append(out, view(inst))
	}
	writeJSON(w, http.StatusOK, map[string]any{"instances": out})
	return nil
}

// lookup finds the instance the path names.
func (s *Server) lookup(r *http.Request) (storage.Instance, error) {
	name := r.PathValue("name")
	if err := storage.ValidateName(name); err != nil {
		return storage.Instance{}, badRequest("instance name: %v", err)
	}
	inst, err := s.cfg.Store.InstanceByName(r.Context(), name)
	if errors.Is(err, storage.ErrNotFound) {
		return inst, noInstance(name)
	}
	return inst, err
}

func noInstance(name string) error {
	return &httpError{status: http.StatusNotFound, code: "not_found", msg: fmt.Sprintf("no instance named %q", name)}
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	v := view(inst)
	st := s.cfg.Sessions.State(inst.ID)
	v.Session = &st
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.Remove(r.Context(), inst.ID); err != nil {
		return err
	}
	rep, err := s.cfg.Executor.Remove(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	s.cfg.Webhooks.ForgetInstance(inst.ID)
	writeJSON(w, http.StatusOK, map[string]any{"deleted": inst.Name, "cleanup": rep})
	return nil
}

type connectBody struct {
	// Phone, when set, asks for a pairing code instead of QR codes.
	Phone string `json:"phone,omitempty"`
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request) error {
	var body connectBody
	if err := decode(r, &body, true); err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	if st := s.cfg.Sessions.State(inst.ID); st.Connected {
		return conflict("instance %q is already connected as %s; log out first", inst.Name, st.JID)
	}
	if body.Phone != "" {
		phone := strings.TrimPrefix(body.Phone, "+")
		if len(phone) < 8 || len(phone) > 15 || strings.Trim(phone, "0123456789") != "" {
			return badRequest("phone: %q is not an international number (digits only, country code first)", body.Phone)
		}
		code, err := s.cfg.Sessions.PairPhone(r.Context(), inst.ID, phone)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"instance": inst.Name, "pairing_code": code})
		return nil
	}
	before := 0
	if q, ok := s.cfg.QR.Latest(inst.ID); ok {
		before = q.Count
	}
	if err := s.cfg.Sessions.Connect(r.Context(), inst.ID); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.QRWait)
	defer cancel()
	q, err := s.cfg.QR.Wait(ctx, inst.ID, before)
	if err != nil {
		// A paired instance logs in without a QR code.
		if cur, gerr := s.cfg.Store.Instance(r.Context(), inst.ID); gerr == nil && cur.Status == storage.StatusOpen {
			writeJSON(w, http.StatusOK, map[string]any{"instance": inst.Name, "status": cur.Status})
			return nil
		}
		writeJSON(w, http.StatusAccepted, map[string]any{
			"instance": inst.Name, "status": storage.StatusConnecting,
			"message": "connecting; no QR code yet, fetch it from GET /v1/instances/" + inst.Name + "/qr",
		})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"instance": inst.Name, "qr": q})
	return nil
}

func (s *Server) qr(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	q, ok := s.cfg.QR.Latest(inst.ID)
	if !ok {
		return &httpError{status: http.StatusNotFound, code: "no_qr",
			msg: fmt.Sprintf("instance %q shows no QR code; POST /v1/instances/%s/connect first", inst.Name, inst.Name)}
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Sessions.Logout(r.Context(), inst.ID); err != nil {
		return err
	}
	res, err := s.cfg.Executor.LoggedOutByAPI(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	out := map[string]any{"instance": inst.Name, "status": res.Instance.Status, "decision": json.RawMessage(res.Outcome.Doc)}
	if res.Cleanup != nil {
		out["cleanup"] = res.Cleanup
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type reconnectBody struct {
	Clean bool `json:"clean"`
}

func (s *Server) reconnect(w http.ResponseWriter, r *http.Request) error {
	var body reconnectBody
	if err := decode(r, &body, true); err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Executor.ForceReconnect(r.Context(), inst.ID, body.Clean); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"instance": inst.Name, "status": storage.StatusConnecting, "clean": body.Clean})
	return nil
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	rep, err := s.cfg.Executor.Reset(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"instance": inst.Name, "status": storage.StatusClose, "cleanup": rep})
	return nil
}

func (s *Server) diagnostics(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.cfg.Diagnose(r.Context(), inst))
	return nil
}

// disconnectView is one row of the history on the wire.
type disconnectView struct {
	ID           int64           `json:"id"`
	At           time.Time       `json:"at"`
	Kind         string          `json:"kind"`
	Code         int             `json:"code"`
	Raw          string          `json:"raw,omitempty"`
	Message      string          `json:"message,omitempty"`
	Cause        string          `json:"cause,omitempty"`
	Decision     json.RawMessage `json:"decision"`
	Rule         string          `json:"rule,omitempty"`
	PolicySHA256 string          `json:"policy_sha256,omitempty"`
	Fallback     bool            `json:"fallback"`
	LatencyUS    int64           `json:"latency_us"`
	Attempt      int             `json:"attempt"`
	Step         int             `json:"step"`
	JitterSeed   uint32          `json:"jitter_seed"`
	Shadow       json.RawMessage `json:"shadow,omitempty"`
	ShadowSHA256 string          `json:"shadow_sha256,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	// Proxy is the ID of the proxy the dropped connection went through,
	// ProxyTo the one the decision's switch_proxy moved the instance to.
	Proxy   string `json:"proxy,omitempty"`
	ProxyTo string `json:"proxy_to,omitempty"`
}

func (s *Server) disconnects(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	before, err := queryInt(r, "before", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", storage.DefaultPage, 1, storage.MaxPage)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Store.ListDisconnects(r.Context(), inst.ID, before, int(limit))
	if err != nil {
		return err
	}
	out := make([]disconnectView, 0, len(rows))
	for _, d := range rows {
		out = append(out, disconnectView{
			ID: d.ID, At: d.At, Kind: d.Kind, Code: d.Code, Raw: d.Raw, Message: d.Message, Cause: d.Cause,
			Decision: d.Decision, Rule: d.Rule, PolicySHA256: d.PolicySHA256, Fallback: d.Fallback,
			LatencyUS: d.Latency.Microseconds(), Attempt: d.Attempt, Step: d.Step, JitterSeed: d.JitterSeed,
			Shadow: d.Shadow, ShadowSHA256: d.ShadowSHA256, Input: d.Input, Proxy: d.Proxy, ProxyTo: d.ProxyTo,
		})
	}
	body := map[string]any{"instance": inst.Name, "disconnects": out}
	if len(rows) == int(limit) {
		body["next_before"] = rows[len(rows)-1].ID
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("query %s: %q is not an integer in [%d, %d]", name, raw, lo, hi)
	}
	return n, nil
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) error {
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	set, err := s.cfg.Store.Settings(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsView(set))
	return nil
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) error {
	var body settingsBody
	if err := decode(r, &body, false); err != nil {
		return err
	}
	inst, err := s.lookup(r)
	if err != nil {
		return err
	}
	// One writer at a time here, and the instance's row locked in the
	// database for other hosts: a concurrent update is never lost, and
	// memory follows the database in commit order.
	s.settingsMu.Lock()
	defer s.settingsMu.Unlock()
	var set storage.InstanceSettings
	err = s.cfg.Store.InTx(r.Context(), func(tx storage.Tx) error {
		if _, err := tx.Instance(r.Context(), inst.ID); err != nil {
			return err
		}
		var err error
		if set, err = s.cfg.Store.Settings(r.Context(), inst.ID); err != nil {
			return err
		}
		if err := body.apply(&set, s.cfg.HasPolicy, s.cfg.Proxies); err != nil {
			return err
		}
		return tx.PutSettings(r.Context(), inst.ID, set)
	})
	if err != nil {
		return err
	}
	s.cfg.Webhooks.SetInstance(inst.ID, set)
	writeJSON(w, http.StatusOK, settingsView(set))
	return nil
}

// outboxView is a webhook event on the wire.
type outboxView struct {
	ID          string          `json:"id"`
	InstanceID  string          `json:"instance_id"`
	Event       string          `json:"event"`
	Payload     json.RawMessage `json:"payload"`
	CreatedAt   time.Time       `json:"created_at"`
	Attempts    int             `json:"attempts"`
	FailedAt    *time.Time      `json:"failed_at,omitempty"`
	DeliveredAt *time.Time      `json:"delivered_at,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
}

func (s *Server) failedWebhooks(w http.ResponseWriter, r *http.Request) error {
	instanceID := ""
	if name := r.URL.Query().Get("instance"); name != "" {
		inst, err := s.cfg.Store.InstanceByName(r.Context(), name)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return noInstance(name)
			}
			return err
		}
		instanceID = inst.ID
	}
	limit, err := queryInt(r, "limit", storage.DefaultPage, 1, storage.MaxPage)
	if err != nil {
		return err
	}
	evs, err := s.cfg.Store.FailedEvents(r.Context(), instanceID, int(limit))
	if err != nil {
		return err
	}
	out := make([]outboxView, 0, len(evs))
	for _, ev := range evs {
		out = append(out, outboxView{
			ID: ev.ID, InstanceID: ev.InstanceID, Event: ev.Event, Payload: ev.Payload, CreatedAt: ev.CreatedAt,
			Attempts: ev.Attempts, FailedAt: ev.FailedAt, DeliveredAt: ev.DeliveredAt, LastError: ev.LastError,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
	return nil
}

func (s *Server) redeliver(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if len(id) != 36 {
		return badRequest("event id %q is not a UUID", id)
	}
	if err := s.cfg.Webhooks.Redeliver(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "status": "queued"})
	return nil
}

func (s *Server) policyStatus(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, s.cfg.Policy.Status())
	return nil
}

func (s *Server) policyReload(w http.ResponseWriter, r *http.Request) error {
	res, err := s.cfg.Reload(r.Context())
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":  map[string]string{"code": "reload_rejected", "message": err.Error() + "; the previous policy stays active"},
			"reload": res,
		})
		return nil
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) shadowDiffs(w http.ResponseWriter, _ *http.Request) error {
	st := s.cfg.Policy.Status()
	diffs := s.cfg.Executor.ShadowDiffs()
	if diffs == nil {
		diffs = []executor.ShadowDiff{}
	}
	body := map[string]any{"diffs": diffs, "totals": s.cfg.Executor.ShadowTotals()}
	if st.Candidate != nil {
		body["candidate"] = st.Candidate
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

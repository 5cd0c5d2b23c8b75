package evolution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/storage"
)

// Integration is the only integration wahost speaks: WhatsApp Web, as
// Evolution's Baileys channel.
const Integration = "WHATSAPP-BAILEYS"

// The events this API emits itself, as Evolution's instance controller
// and monitor do.
const (
	EventInstanceCreate = "instance.create"
	EventInstanceDelete = "instance.delete"
	EventRemoveInstance = "remove.instance"
)

// numberPattern is instanceSchema's number pattern.
var numberPattern = regexp.MustCompile(`^\d+[\.@\w-]+`)

// createDTO is Evolution's InstanceDto as create reads it; the other
// fields it accepts (chatwoot, sqs, settings...) are ignored.
type createDTO struct {
	InstanceName string      `json:"instanceName"`
	Token        string      `json:"token"`
	QRCode       bool        `json:"qrcode"`
	Number       string      `json:"number"`
	Integration  string      `json:"integration"`
	Webhook      *webhookDTO `json:"webhook"`
	// Evolution v1's flat webhook fields, still in v2's schema.
	WebhookURL      string   `json:"webhookUrl"`
	WebhookByEvents bool     `json:"webhookByEvents"`
	WebhookBase64   bool     `json:"webhookBase64"`
	WebhookEvents   []string `json:"webhookEvents"`
	// The brokers the instance publishes to, stored enabled whatever
	// their enabled says (EventManager.setInstance).
	RabbitMQ *sinkDTO `json:"rabbitmq"`
	NATS     *sinkDTO `json:"nats"`
	// The instance's proxy, as POST /proxy/set takes it (protocol http,
	// https or socks5, or "pool" with a pool's name as host).
	ProxyHost     string `json:"proxyHost"`
	ProxyPort     string `json:"proxyPort"`
	ProxyProtocol string `json:"proxyProtocol"`
	ProxyUsername string `json:"proxyUsername"`
	ProxyPassword string `json:"proxyPassword"`
}

// proxySetting is the instance's proxy setting from the create body's
// proxy fields: "" when proxyHost is empty.
func (s *Server) proxySetting(b *createDTO) (string, error) {
	if strings.TrimSpace(b.ProxyHost) == "" {
		return "", nil
	}
	dto := proxyDTO{Host: b.ProxyHost, Port: b.ProxyPort, Protocol: b.ProxyProtocol,
		Username: b.ProxyUsername, Password: b.ProxyPassword}
	value, err := dto.setting("")
	if err != nil {
		return "", err
	}
	if s.cfg.Proxies == nil {
		return "", badRequest("this host has no proxies configured")
	}
	if _, _, err := s.cfg.Proxies.Resolve(value); err != nil {
		return "", badRequest("proxy: " + err.Error())
	}
	return value, nil
}

// instanceSettings is Evolution's settings object: wahost implements none
// of these behaviours, so it shows them all off.
type instanceSettings struct {
	RejectCall      bool   `json:"rejectCall"`
	MsgCall         string `json:"msgCall"`
	GroupsIgnore    bool   `json:"groupsIgnore"`
	AlwaysOnline    bool   `json:"alwaysOnline"`
	ReadMessages    bool   `json:"readMessages"`
	ReadStatus      bool   `json:"readStatus"`
	SyncFullHistory bool   `json:"syncFullHistory"`
	WavoipToken     string `json:"wavoipToken"`
}

type createdInstance struct {
	InstanceName          string  `json:"instanceName"`
	InstanceID            string  `json:"instanceId"`
	Integration           string  `json:"integration"`
	WebhookWaBusiness     *string `json:"webhookWaBusiness"`
	AccessTokenWaBusiness string  `json:"accessTokenWaBusiness"`
	Status                string  `json:"status"`
}

type createdWebhook struct {
	URL      *string           `json:"webhookUrl,omitempty"`
	Headers  map[string]string `json:"webhookHeaders,omitempty"`
	ByEvents *bool             `json:"webhookByEvents,omitempty"`
	Base64   *bool             `json:"webhookBase64,omitempty"`
}

type created struct {
	Instance  createdInstance  `json:"instance"`
	Hash      string           `json:"hash"`
	Webhook   createdWebhook   `json:"webhook"`
	Websocket struct{}         `json:"websocket"`
	RabbitMQ  struct{}         `json:"rabbitmq"`
	NATS      struct{}         `json:"nats"`
	SQS       struct{}         `json:"sqs"`
	Settings  instanceSettings `json:"settings"`
	QRCode    *qrObject        `json:"qrcode,omitempty"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, _ storage.Instance) error {
	var body createDTO
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := body.check(); err != nil {
		return err
	}
	var set storage.InstanceSettings
	hook := body.Webhook
	if hook == nil && body.WebhookURL != "" {
		on := true
		hook = &webhookDTO{Enabled: &on, URL: &body.WebhookURL, ByEvents: body.WebhookByEvents,
			Base64: body.WebhookBase64, Events: body.WebhookEvents}
	}
	if hook != nil && hook.URL != nil && *hook.URL != "" {
		if err := hook.apply(&set); err != nil {
			return err
		}
	}
	for _, sk := range []struct {
		kind string
		dto  *sinkDTO
	}{{SinkRabbitMQ, body.RabbitMQ}, {SinkNATS, body.NATS}} {
		if sk.dto != nil && slices.Contains(s.cfg.Brokers, sk.kind) {
			on := true
			*sinkOf(sk.kind, &set) = (&sinkDTO{Enabled: &on, Events: sk.dto.Events}).settings()
		}
	}
	var err error
	if set.Proxy, err = s.proxySetting(&body); err != nil {
		return err
	}
	hash := body.Token
	if hash == "" {
		hash = strings.ToUpper(uuid.NewString())
	}
	set.TokenSHA256 = tokenHash(hash)
	if s.cfg.KeepTokens {
		set.Token = hash
	}

	ctx := r.Context()
	var inst storage.Instance
	err = s.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		var err error
		if inst, err = tx.CreateInstance(ctx, storage.Instance{Name: body.InstanceName}); err != nil {
			return err
		}
		if err := tx.PutSettings(ctx, inst.ID, set); err != nil {
			return err
		}
		s.cfg.Webhooks.SetInstance(inst.ID, set)
		return s.cfg.Webhooks.Enqueue(ctx, tx, inst, EventInstanceCreate, instanceEvent{inst.Name, inst.ID})
	})
	switch {
	case errors.Is(err, storage.ErrDuplicateName):
		return forbidden(fmt.Sprintf("This name %q is already in use.", body.InstanceName))
	case errors.Is(err, storage.ErrInvalidInput):
		if inst.ID != "" {
			s.cfg.Webhooks.ForgetInstance(inst.ID)
		}
		return badRequest(err.Error())
	case err != nil:
		if inst.ID != "" {
			s.cfg.Webhooks.ForgetInstance(inst.ID)
		}
		return err
	}
	s.cfg.Webhooks.Nudge()

	out := created{
		Instance: createdInstance{InstanceName: inst.Name, InstanceID: inst.ID, Integration: Integration,
			Status: string(inst.Status)},
		Hash: hash,
	}
	if hook != nil {
		out.Webhook = createdWebhook{URL: hook.URL, Headers: hook.Headers, ByEvents: &hook.ByEvents, Base64: &hook.Base64}
	}
	if body.QRCode {
		q, err := s.startLogin(ctx, inst, body.Number)
		if err != nil {
			return badRequest(err.Error())
		}
		out.QRCode = &q
		out.Instance.Status = string(storage.StatusConnecting)
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// check is instanceSchema's check and the create controller's.
func (b *createDTO) check() error {
	if b.InstanceName == "" {
		return invalid(`The "instanceName" cannot be empty`)
	}
	if b.Number != "" && !numberPattern.MatchString(b.Number) {
		return invalid(fmt.Sprintf(`number does not match pattern %q`, numberPattern.String()))
	}
	if b.Integration != "" && b.Integration != Integration {
		return badRequest("Invalid integration")
	}
	if err := storage.ValidateName(b.InstanceName); err != nil {
		return badRequest("instanceName: " + err.Error())
	}
	if b.Webhook != nil && b.Webhook.URL != nil && *b.Webhook.URL != "" {
		for i, ev := range b.Webhook.Events {
			if !knownEvent(ev) {
				return invalid(fmt.Sprintf("webhook.events[%d] is not one of enum values: %s", i, strings.Join(Events, ",")))
			}
		}
	}
	for _, sk := range []struct {
		kind string
		dto  *sinkDTO
	}{{SinkRabbitMQ, b.RabbitMQ}, {SinkNATS, b.NATS}} {
		if sk.dto == nil {
			continue
		}
		for i, ev := range sk.dto.Events {
			if !knownEvent(ev) {
				return invalid(fmt.Sprintf("%s.events[%d] is not one of enum values: %s", sk.kind, i, strings.Join(Events, ",")))
			}
		}
	}
	return nil
}

// instanceEvent is instance.create's and instance.delete's data.
type instanceEvent struct {
	InstanceName string `json:"instanceName"`
	InstanceID   string `json:"instanceId"`
}

// stateBody is connectionState's answer (and connect's when open).
type stateBody struct {
	Instance struct {
		InstanceName string `json:"instanceName"`
		State        string `json:"state"`
	} `json:"instance"`
}

func stateOf(inst storage.Instance) stateBody {
	var b stateBody
	b.Instance.InstanceName, b.Instance.State = inst.Name, string(inst.Status)
	return b
}

func (s *Server) connectionState(w http.ResponseWriter, _ *http.Request, inst storage.Instance) error {
	writeJSON(w, http.StatusOK, stateOf(inst))
	return nil
}

// failure is the 200 answer Evolution's connect and restart give when
// they fail: {"error": true, "message": "..."}.
type failure struct {
	Error   bool   `json:"error"`
	Message string `json:"message"`
}

func fail(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusOK, failure{Error: true, Message: err.Error()})
}

func (s *Server) connect(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	number := r.URL.Query().Get("number")
	switch {
	case inst.Status == storage.StatusOpen:
		writeJSON(w, http.StatusOK, stateOf(inst))
		return nil
	case inst.Status == storage.StatusConnecting && s.cfg.Sessions.State(inst.ID).Phase != "idle":
		writeJSON(w, http.StatusOK, s.currentQR(inst.ID))
		return nil
	}
	q, err := s.startLogin(r.Context(), inst, number)
	if err != nil {
		fail(w, err)
		return nil
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}

func (s *Server) restart(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	if inst.Status == storage.StatusClose || inst.Status == storage.StatusRefused {
		fail(w, fmt.Errorf("The %q instance is not connected", inst.Name))
		return nil
	}
	if err := s.cfg.Executor.ForceReconnect(r.Context(), inst.ID, false); err != nil {
		fail(w, err)
		return nil
	}
	cur, err := s.cfg.Store.Instance(r.Context(), inst.ID)
	if err != nil {
		return err
	}
	if cur.Status == storage.StatusOpen {
		writeJSON(w, http.StatusOK, stateOf(cur))
		return nil
	}
	writeJSON(w, http.StatusOK, s.currentQR(inst.ID))
	return nil
}

// result is Evolution's {status: "SUCCESS", error: false, response}.
type result struct {
	Status   string `json:"status"`
	Error    bool   `json:"error"`
	Response struct {
		Message string `json:"message"`
	} `json:"response"`
}

func success(msg string) result {
	r := result{Status: "SUCCESS"}
	r.Response.Message = msg
	return r
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	if inst.Status == storage.StatusClose {
		return badRequest(fmt.Sprintf("The %q instance is not connected", inst.Name))
	}
	if _, err := s.cfg.Executor.Reset(r.Context(), inst.ID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, success("Instance logged out"))
	return nil
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, inst storage.Instance) error {
	ctx := r.Context()
	if err := s.resetWhenEnded(ctx, inst.ID); err != nil {
		return badRequest(err.Error())
	}
	if err := s.cfg.Sessions.Remove(ctx, inst.ID); err != nil {
		return badRequest(err.Error())
	}
	err := s.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		if err := s.cfg.Webhooks.Enqueue(ctx, tx, inst, EventInstanceDelete, instanceEvent{inst.Name, inst.ID}); err != nil {
			return err
		}
		if err := s.cfg.Webhooks.Enqueue(ctx, tx, inst, EventRemoveInstance, nil); err != nil {
			return err
		}
		return tx.DeleteInstance(ctx, inst.ID)
	})
	if err != nil {
		return badRequest(err.Error())
	}
	s.cfg.Webhooks.Nudge()
	s.cfg.Webhooks.ForgetInstance(inst.ID)
	writeJSON(w, http.StatusOK, success("Instance deleted"))
	return nil
}

// qrObject is Evolution's wa.QrCode, as connect answers it.
type qrObject struct {
	PairingCode *string `json:"pairingCode"`
	Code        string  `json:"code,omitempty"`
	Base64      string  `json:"base64,omitempty"`
	Count       int     `json:"count"`
}

func (s *Server) currentQR(instanceID string) qrObject {
	var q qrObject
	if cur, ok := s.cfg.QR.Latest(instanceID); ok {
		q.Code, q.Base64, q.Count = cur.Code, cur.PNG, cur.Count
	}
	if code := s.cfg.QR.Pairing(instanceID); code != "" {
		q.PairingCode = &code
	}
	return q
}

// startLogin connects a closed instance and waits (up to QRWait) for its
// first QR code; with a number, it asks for a pairing code instead.
func (s *Server) startLogin(ctx context.Context, inst storage.Instance, number string) (qrObject, error) {
	if number != "" {
		phone := strings.TrimPrefix(number, "+")
		if _, err := s.cfg.Sessions.PairPhone(ctx, inst.ID, phone); err != nil {
			return qrObject{}, err
		}
		return s.currentQR(inst.ID), nil
	}
	before := 0
	if q, ok := s.cfg.QR.Latest(inst.ID); ok {
		before = q.Count
	}
	if err := s.cfg.Sessions.Connect(ctx, inst.ID); err != nil {
		return qrObject{}, err
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.QRWait)
	defer cancel()
	_, _ = s.cfg.QR.Wait(wait, inst.ID, before)
	return s.currentQR(inst.ID), nil
}

// endedWait bounds how long delete waits for a session that is ending (a
// logout's cleanup) before it resets the instance.
const endedWait = 30 * time.Second

// resetWhenEnded resets the instance; when it is still ending its session
// (the phone just logged it out), it waits for the end first, as
// Evolution's delete right after a logout succeeds.
func (s *Server) resetWhenEnded(ctx context.Context, instanceID string) error {
	ctx, cancel := context.WithTimeout(ctx, endedWait)
	defer cancel()
	wait := 10 * time.Millisecond
	for {
		_, err := s.cfg.Executor.Reset(ctx, instanceID)
		if !errors.Is(err, executor.ErrEnding) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage"
)

// Envelope is the body of every webhook, Evolution API's envelope. Its
// apikey field is sent only when Config.ExposeAPIKey is on and the
// instance has a token: otherwise wahost sends no credentials to
// receivers (check the signature instead).
type Envelope struct {
	Event       string          `json:"event"`            // wire name, e.g. "connection.update"
	Instance    string          `json:"instance"`         // instance name
	Data        json.RawMessage `json:"data"`             // the event's own document
	Destination string          `json:"destination"`      // the URL the webhook was sent to
	DateTime    string          `json:"date_time"`        // when the event happened, RFC 3339 in UTC with milliseconds
	Sender      string          `json:"sender"`           // the instance's WhatsApp JID without the device part; empty before pairing
	ServerURL   string          `json:"server_url"`       // the public URL of the wahost server
	APIKey      string          `json:"apikey,omitempty"` // the instance's own token, with ExposeAPIKey
}

// dateTimeFormat is JavaScript's Date.toISOString, as Evolution API sends.
const dateTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Enqueue writes the webhooks of one event inside the caller's unit of
// work: the event stream's entry (storage.OutboxEvent.Stream, the envelope
// without destination or apikey), then one outbox row per destination that
// wants the event (the global one and the instance's own; one row when
// both name the same URL), each holding the complete envelope, so
// delivering it needs nothing but the row.
//
// payload is marshalled to JSON as the envelope's data, except a
// json.RawMessage, which is used as it is. Enqueue reads destinations from
// the dispatcher's memory (see SetInstance and Load), never from the
// store: it runs inside storage.Store.InTx. Call Nudge after the commit.
func (d *Dispatcher) Enqueue(ctx context.Context, tx storage.Tx, inst storage.Instance, event string, payload any) error {
	name := EventName(event)
	d.mu.Lock()
	urls := targets(name, d.global, d.instances[inst.ID])
	sinks := d.sinkTargetsLocked(name, inst.ID, inst.Name)
	apiKey := d.tokens[inst.ID]
	holds := make([]time.Time, len(urls)+len(sinks))
	for i, u := range append(urls[:len(urls):len(urls)], sinks...) {
		holds[i] = d.holds[laneKey{instance: inst.ID, url: u}]
	}
	d.mu.Unlock()

	data, err := marshalData(payload)
	if err != nil {
		return fmt.Errorf("webhook: enqueue %s for instance %s: encode payload: %w", name, inst.Name, err)
	}
	now := d.clock.Now()
	env := Envelope{
		Event:     name,
		Instance:  inst.Name,
		Data:      data,
		DateTime:  now.UTC().Format(dateTimeFormat),
		Sender:    UserJID(inst.OwnerJID),
		ServerURL: d.cfg.ServerURL,
	}
	// The event stream's entry: the same envelope, without a destination
	// or credentials, whether or not any webhook wants the event.
	body := env.appendJSON(make([]byte, 0, envelopeSize(&env)))
	if _, err := tx.Enqueue(ctx, storage.OutboxEvent{InstanceID: inst.ID, Event: name, Payload: body, Stream: true, Encoded: true}); err != nil {
		return fmt.Errorf("webhook: enqueue %s for instance %s to the event stream: %w", name, inst.Name, err)
	}
	env.APIKey = apiKey
	if len(sinks) > 0 {
		sink := sinkEnvelope{Event: env.Event, Instance: env.Instance, Data: env.Data,
			ServerURL: env.ServerURL, DateTime: env.DateTime, Sender: env.Sender, APIKey: env.APIKey}
		body := sink.appendJSON(make([]byte, 0, envelopeSize(&env)))
		for i, dst := range sinks {
			ev := storage.OutboxEvent{InstanceID: inst.ID, Event: name, Payload: body, Destination: dst, Encoded: true}
			if hold := holds[len(urls)+i]; hold.After(now) {
				ev.NextAttemptAt = hold.Add(time.Microsecond)
			}
			if _, err := tx.Enqueue(ctx, ev); err != nil {
				return fmt.Errorf("webhook: enqueue %s for instance %s to %s: %w", name, inst.Name, dst, err)
			}
		}
		d.metrics.sinkEnqueued(sinks)
	}
	for i, u := range urls {
		env.Destination = u
		body := env.appendJSON(make([]byte, 0, envelopeSize(&env)))
		ev := storage.OutboxEvent{InstanceID: inst.ID, Event: name, Payload: body, Encoded: true}
		if holds[i].After(now) {
			// An earlier event to this destination waits for a retry:
			// this one must not be claimed before it.
			ev.NextAttemptAt = holds[i].Add(time.Microsecond)
		}
		if _, err := tx.Enqueue(ctx, ev); err != nil {
			return fmt.Errorf("webhook: enqueue %s for instance %s to %s: %w", name, inst.Name, u, err)
		}
	}
	d.metrics.enqueued.Add(float64(len(urls)))
	return nil
}

func marshalData(payload any) (json.RawMessage, error) {
	if a, ok := payload.(Appender); ok {
		return a.AppendJSON(make([]byte, 0, 512)), nil
	}
	if raw, ok := payload.(json.RawMessage); ok {
		if len(raw) == 0 {
			return json.RawMessage("null"), nil
		}
		// Compacted, as encoding/json embeds a json.RawMessage.
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, fmt.Errorf("payload is not valid JSON")
		}
		return b.Bytes(), nil
	}
	return encode(payload)
}

// An Appender is a payload that writes its own JSON: appended to b, byte
// for byte what encoding/json writes for it with HTML escaping off. A
// storm enqueues two payloads per decision, and encoding/json's
// reflection over them, with its check of every embedded document, was a
// few percent of the host's work there.
type Appender interface {
	AppendJSON(b []byte) []byte
}

// envelopeSize is room for env's JSON but for escapes.
func envelopeSize(env *Envelope) int {
	return 128 + len(env.Event) + len(env.Instance) + len(env.Data) + len(env.DateTime) + len(env.Sender) +
		len(env.ServerURL) + len(env.APIKey) + len(env.Destination)
}

// encode marshals v as JSON.stringify would: without escaping <, > and &,
// so URLs with query strings read the same in the body as in the settings.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// destinationOf reads the URL a row goes to from its envelope.
func destinationOf(payload json.RawMessage) (string, error) {
	var env struct {
		Destination string `json:"destination"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return "", fmt.Errorf("payload is not a webhook envelope: %w", err)
	}
	if env.Destination == "" {
		return "", fmt.Errorf("payload has no destination")
	}
	return env.Destination, nil
}

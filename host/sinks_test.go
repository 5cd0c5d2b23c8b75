package host_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/wahost/wahost/host/sink/sinktest"
	"github.com/wahost/wahost/host/wafake"
	"github.com/wahost/wahost/host/wafake/wafaketest"
	"github.com/wahost/wahost/internal/tcpproxy"
)

// TestBrokerSettings sets instances' RabbitMQ and NATS sinks through the
// API and the Evolution routes, and reads the events they publish from
// the real brokers, as a consumer written for Evolution does.
func TestBrokerSettings(t *testing.T) {
	amqpURL, uniq := sinktest.AMQP(t)
	natsURL := sinktest.NATS(t)
	v1, evo := uniq+"v", uniq+"e"
	stream := "WAHOST_" + uniq
	sinktest.Stream(t, natsURL, stream, v1+".>", evo+".>")
	srv := wafaketest.NewServer(t, wafake.Config{})
	h := startHost(t, srv, map[string]any{"events.rabbitmq.url": amqpURL, "events.nats.url": natsURL,
		"events.nats.stream": stream, "events.nats.declare": false})

	// The API: rabbitmq and nats objects on create and settings.
	qrQueue := sinktest.ConsumeAMQP(t, amqpURL, v1+".qrcode.updated")
	subjects := sinktest.Subscribe(t, natsURL, v1+".>")
	code, body := h.call("POST", "/v1/instances", map[string]any{"name": v1,
		"rabbitmq": map[string]any{"enabled": true, "events": []string{"QRCODE_UPDATED"}}})
	if code != http.StatusCreated {
		t.Fatalf("create = %d %v", code, body)
	}
	code, set := h.call("PUT", "/v1/instances/"+v1+"/settings", map[string]any{"nats": map[string]any{"enabled": true}})
	if code != http.StatusOK || fmt.Sprint(set["rabbitmq"]) != "map[enabled:true events:[qrcode.updated]]" ||
		fmt.Sprint(set["nats"]) != "map[enabled:true events:[]]" {
		t.Fatalf("settings = %d %v", code, set)
	}
	if code, body := h.call("PUT", "/v1/instances/"+v1+"/settings", map[string]any{
		"rabbitmq": map[string]any{"enabled": true, "events": []string{" "}}}); code != http.StatusBadRequest {
		t.Fatalf("an empty event name = %d %v", code, body)
	}
	if code, body := h.call("POST", "/v1/instances/"+v1+"/connect", nil); code != http.StatusOK {
		t.Fatalf("connect = %d %v", code, body)
	}
	env := amqpEvent(t, qrQueue)
	if env["event"] != "qrcode.updated" || env["instance"] != v1 {
		t.Errorf("RabbitMQ message = %v", env)
	}
	if m := natsEvent(t, subjects, v1+".qrcode.updated"); m["instance"] != v1 {
		t.Errorf("NATS message = %v", m)
	}

	// Evolution: create with the brokers, then set and find.
	created := sinktest.ConsumeAMQP(t, amqpURL, evo+".instance.create")
	evoSubjects := sinktest.Subscribe(t, natsURL, evo+".>")
	code, raw := evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{"instanceName": evo,
		"rabbitmq": map[string]any{"enabled": false, "events": []string{"INSTANCE_CREATE"}},
		"nats":     map[string]any{"events": []string{}}})
	expect(t, "create with brokers", code, raw, "instance-create", http.StatusCreated)
	if env := amqpEvent(t, created); env["event"] != "instance.create" || env["instance"] != evo {
		t.Errorf("RabbitMQ instance.create = %v", env)
	}
	if m := natsEvent(t, evoSubjects, evo+".instance.create"); m["event"] != "instance.create" {
		t.Errorf("NATS instance.create = %v", m)
	}
	code, raw = evoCall(t, h, "GET", "/rabbitmq/find/"+evo, apiKey, nil)
	row := expect(t, "rabbitmq/find", code, raw, "sink-row", http.StatusOK)
	if row["enabled"] != true || fmt.Sprint(row["events"]) != "[INSTANCE_CREATE]" {
		t.Errorf("rabbitmq/find = %s, want enabled with INSTANCE_CREATE (create forces enabled)", raw)
	}
	code, raw = evoCall(t, h, "POST", "/nats/set/"+evo, apiKey, map[string]any{"nats": map[string]any{
		"enabled": true, "events": []string{"MESSAGES_UPSERT", "GROUP_PARTICIPANTS_UPDATE"}}})
	row = expect(t, "nats/set", code, raw, "sink-row", http.StatusCreated)
	if fmt.Sprint(row["events"]) != "[MESSAGES_UPSERT GROUP_PARTICIPANTS_UPDATE]" {
		t.Errorf("nats/set = %s", raw)
	}
	code, set = h.call("GET", "/v1/instances/"+evo+"/settings", nil)
	if code != http.StatusOK || fmt.Sprint(set["nats"]) != "map[enabled:true events:[messages.upsert group-participants.update]]" {
		t.Errorf("settings after nats/set = %d %v", code, set)
	}
	code, raw = evoCall(t, h, "POST", "/rabbitmq/set/"+evo, apiKey, map[string]any{"rabbitmq": map[string]any{"enabled": false}})
	if row := expect(t, "rabbitmq/set disabled", code, raw, "sink-row", http.StatusCreated); row["enabled"] != false || len(row["events"].([]any)) != 0 {
		t.Errorf("rabbitmq/set disabled = %s", raw)
	}
	code, raw = evoCall(t, h, "GET", "/rabbitmq/find/"+evo, apiKey, nil)
	if code != http.StatusOK || strings.TrimSpace(string(raw)) != "null" {
		t.Errorf("rabbitmq/find after disabling = %d %s, want null", code, raw)
	}
	code, raw = evoCall(t, h, "POST", "/rabbitmq/set/"+evo, apiKey, map[string]any{"rabbitmq": map[string]any{"events": []string{"NOPE"}}})
	expect(t, "rabbitmq/set without enabled and a bad event", code, raw, "error", http.StatusBadRequest)
	code, raw = evoCall(t, h, "POST", "/nats/set/"+evo, apiKey, map[string]any{"rabbitmq": map[string]any{"enabled": true}})
	expect(t, "nats/set without nats", code, raw, "error", http.StatusBadRequest)
}

// TestBrokerSettingsWithoutBroker answers Evolution's broker routes empty
// when the host has no such broker, as Evolution does with it disabled.
func TestBrokerSettingsWithoutBroker(t *testing.T) {
	h := startHost(t, wafaketest.NewServer(t, wafake.Config{}), nil)
	code, raw := evoCall(t, h, "POST", "/instance/create", apiKey, map[string]any{"instanceName": "nobroker"})
	expect(t, "create", code, raw, "instance-create", http.StatusCreated)
	code, raw = evoCall(t, h, "POST", "/rabbitmq/set/nobroker", apiKey, map[string]any{"rabbitmq": map[string]any{"enabled": true}})
	if code != http.StatusCreated || len(raw) != 0 {
		t.Errorf("rabbitmq/set without RabbitMQ = %d %q, want 201 and no body", code, raw)
	}
	code, raw = evoCall(t, h, "GET", "/nats/find/nobroker", apiKey, nil)
	if code != http.StatusOK || len(raw) != 0 {
		t.Errorf("nats/find without NATS = %d %q, want 200 and no body", code, raw)
	}
}

// TestReadyzBrokerDown cuts RabbitMQ off: /readyz stays 200 and says
// degraded, naming the broker, and ready again once it is back.
func TestReadyzBrokerDown(t *testing.T) {
	amqpURL, _ := sinktest.AMQP(t)
	u, _ := url.Parse(amqpURL)
	proxy, err := tcpproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	h := startHost(t, wafaketest.NewServer(t, wafake.Config{}), map[string]any{"events.rabbitmq.url": u.String()})
	readyz := func(want string) map[string]string {
		t.Helper()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(sinktest.Deadline)
		for {
			resp, err := http.Get(h.base + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/readyz = %d %v, want 200", resp.StatusCode, body)
			}
			if body["status"] == want {
				return body
			}
			select {
			case <-tick.C:
			case <-deadline:
				t.Fatalf("/readyz = %v, want %s", body, want)
			}
		}
	}
	readyz("ready")
	proxy.Cut()
	if body := readyz("degraded"); !strings.Contains(body["reason"], "rabbitmq") || !strings.Contains(body["reason"], "outbox") {
		t.Errorf("degraded reason = %q, want the broker named and the events kept", body["reason"])
	}
	proxy.Restore()
	readyz("ready")
}

// amqpEvent returns the next message's envelope.
func amqpEvent(t *testing.T, msgs <-chan amqp.Delivery) map[string]any {
	t.Helper()
	select {
	case m := <-msgs:
		var env map[string]any
		if err := json.Unmarshal(m.Body, &env); err != nil {
			t.Fatal(err)
		}
		return env
	case <-time.After(sinktest.Deadline):
		t.Fatal("no RabbitMQ message")
	}
	return nil
}

// natsEvent returns the envelope of the next message on subject.
func natsEvent(t *testing.T, msgs <-chan *nats.Msg, subject string) map[string]any {
	t.Helper()
	deadline := time.After(sinktest.Deadline)
	for {
		select {
		case m := <-msgs:
			if m.Subject != subject {
				continue
			}
			var env map[string]any
			if err := json.Unmarshal(m.Data, &env); err != nil {
				t.Fatal(err)
			}
			return env
		case <-deadline:
			t.Fatalf("no NATS message on %s", subject)
		}
	}
}

package evolution

import (
	"encoding/json"
	"regexp"
	"time"

	"github.com/wahost/wahost/host/message"
)

// Key identifies a message, as Baileys' WAMessageKey.
type Key struct {
	RemoteJID   string `json:"remoteJid"`
	FromMe      bool   `json:"fromMe"`
	ID          string `json:"id"`
	Participant string `json:"participant,omitempty"`
}

// KeyOf converts a message key.
func KeyOf(k message.Key) Key {
	return Key{RemoteJID: k.Chat, FromMe: k.FromMe, ID: k.ID, Participant: k.Sender}
}

// Message is Evolution API's prepareMessage document: the data of
// messages.upsert and send.message, and an element of messages.set.
type Message struct {
	Key              Key             `json:"key"`
	PushName         string          `json:"pushName"`
	Status           string          `json:"status,omitempty"`
	Message          json.RawMessage `json:"message"`
	MessageType      string          `json:"messageType"`
	MessageTimestamp int64           `json:"messageTimestamp"`
	InstanceID       string          `json:"instanceId"`
	Source           string          `json:"source"`
}

// Incoming is the prepareMessage document of a received message (or one
// this number sent from another device). The status is DELIVERY_ACK for a
// message from someone else and SERVER_ACK for our own, as Baileys reports
// a message it has just received.
func Incoming(instanceID string, in message.Incoming) Message {
	status := StatusDelivered
	if in.Key.FromMe {
		status = StatusServerAck
	}
	msg := in.Message
	if len(msg) == 0 {
		msg = json.RawMessage("{}")
	}
	return Message{
		Key: KeyOf(in.Key), PushName: in.PushName, Status: status, Message: msg, MessageType: in.Type,
		MessageTimestamp: unix(in.Timestamp), InstanceID: instanceID, Source: Source(in.Key.ID),
	}
}

// WithBase64 returns m with message.base64 set to the media's bytes, as
// Evolution API does when an instance's webhook asks for base64. A message
// that is not a JSON object is returned as it is.
func WithBase64(m Message, data []byte) Message {
	var obj map[string]json.RawMessage
	if json.Unmarshal(m.Message, &obj) != nil || obj == nil {
		return m
	}
	b, _ := json.Marshal(data) // a []byte marshals as base64
	obj["base64"] = b
	m.Message, _ = json.Marshal(obj)
	return m
}

// Sent is the prepareMessage document of a message sent through the API,
// acknowledged by the server at ts: send.message's data.
func Sent(instanceID string, out message.Outgoing, pushName string, ts time.Time) Message {
	typ, content := Content(out)
	return Message{
		Key: Key{RemoteJID: out.To, FromMe: true, ID: out.ID}, PushName: pushName, Status: StatusServerAck,
		Message: content, MessageType: typ, MessageTimestamp: unix(ts), InstanceID: instanceID,
		Source: Source(out.ID),
	}
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// The message id forms Baileys' getDevice tells apart.
var (
	iosID     = regexp.MustCompile(`^3A.{18}$`)
	webID     = regexp.MustCompile(`^3E.{20}$`)
	androidID = regexp.MustCompile(`^(.{21}|.{32})$`)
	desktopID = regexp.MustCompile(`^(3F|.{18}$)`)
)

// Source guesses the device that sent a message from its id's form, as
// Baileys' getDevice does: "ios", "web", "android", "desktop" or
// "unknown".
func Source(id string) string {
	switch {
	case iosID.MatchString(id):
		return "ios"
	case webID.MatchString(id):
		return "web"
	case androidID.MatchString(id):
		return "android"
	case desktopID.MatchString(id):
		return "desktop"
	}
	return "unknown"
}

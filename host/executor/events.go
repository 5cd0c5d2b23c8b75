package executor

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/abi/jsonw"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/storage"
)

// Webhook event names, as Evolution API sends them, and wahost's own.
const (
	EventConnectionUpdate    = "connection.update"
	EventQRCodeUpdated       = "qrcode.updated"
	EventStatusInstance      = "status.instance"
	EventLogoutInstance      = "logout.instance"
	EventMultideviceConflict = "multidevice.conflict"
	EventReconnectionSuccess = "reconnection.success"
	EventDisconnectDecided   = "disconnect.decided"
	EventInstanceCleanup     = "instance.cleanup"
)

// QRLimitMessage is what qrcode.updated says when the QR limit is reached.
const QRLimitMessage = "QR code limit reached, please login again"

// cleanupDone is instance.cleanup: what a session's end removed, scope by
// scope.
type cleanupDone struct {
	Instance string `json:"instance"`
	Scope    string `json:"scope"`
	CleanupReport
}

type connectionUpdate struct {
	Instance          string `json:"instance"`
	State             string `json:"state"`
	StatusReason      int    `json:"statusReason"`
	WUID              string `json:"wuid,omitempty"`
	ProfileName       string `json:"profileName,omitempty"`
	ProfilePictureURL string `json:"profilePictureUrl,omitempty"`
}

// AppendJSON appends u as encoding/json writes it (webhook.Appender).
func (u connectionUpdate) AppendJSON(b []byte) []byte {
	b = append(b, `{"instance":`...)
	b = jsonw.AppendString(b, u.Instance)
	b = append(b, `,"state":`...)
	b = jsonw.AppendString(b, u.State)
	b = append(b, `,"statusReason":`...)
	b = strconv.AppendInt(b, int64(u.StatusReason), 10)
	b = appendOptional(b, `,"wuid":`, u.WUID)
	b = appendOptional(b, `,"profileName":`, u.ProfileName)
	b = appendOptional(b, `,"profilePictureUrl":`, u.ProfilePictureURL)
	return append(b, '}')
}

// appendOptional appends a string member that encoding/json's omitempty
// leaves out when empty.
func appendOptional(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return jsonw.AppendString(append(b, key...), v)
}

func connUpdate(inst storage.Instance, state string, reason int) connectionUpdate {
	return connectionUpdate{
		Instance: inst.Name, State: state, StatusReason: reason, WUID: userJID(inst.OwnerJID),
		ProfileName: inst.ProfileName, ProfilePictureURL: inst.ProfilePictureURL,
	}
}

// statusInstance is status.instance as Evolution API sends it:
// disconnectionAt as JavaScript's toISOString, disconnectionObject as a
// JSON string (JSON.stringify of the disconnect), for receivers that
// JSON.parse it.
type statusInstance struct {
	Instance                string `json:"instance"`
	Status                  string `json:"status"`
	DisconnectionAt         string `json:"disconnectionAt"`
	DisconnectionReasonCode int    `json:"disconnectionReasonCode"`
	DisconnectionObject     string `json:"disconnectionObject"`
}

// jsTime formats t as JavaScript's Date.toISOString.
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// userJID drops a JID's device part, as Evolution API's wuid:
// "5511999999999:12@s.whatsapp.net" gives "5511999999999@s.whatsapp.net".
func userJID(jid string) string {
	user, server, ok := strings.Cut(jid, "@")
	if !ok {
		return jid
	}
	user, _, _ = strings.Cut(user, ":")
	return user + "@" + server
}

type logoutInstance struct {
	Instance string `json:"instance"`
	Code     int    `json:"code"`
	Reason   string `json:"reason"`
	Rule     string `json:"rule,omitempty"`
}

type qrLimitReached struct {
	Message    string `json:"message"`
	StatusCode int    `json:"statusCode"`
}

type qrUpdated struct {
	QRCode qrPayload `json:"qrcode"`
}

type qrPayload struct {
	Instance string `json:"instance"`
	// PairingCode is the code asked for by phone number, null otherwise,
	// as Evolution API sends it.
	PairingCode *string `json:"pairingCode"`
	Code        string  `json:"code"`
	Base64      string  `json:"base64,omitempty"`
	Count       int     `json:"count"`
}

type multideviceConflict struct {
	Instance string `json:"instance"`
	Message  string `json:"message"`
	Action   string `json:"action"`
}

type reconnectionSuccess struct {
	Instance               string `json:"instance"`
	PreviousDisconnectCode int    `json:"previousDisconnectCode"`
	ReconnectionTime       int64  `json:"reconnectionTime"`
	// Proxy is the ID of the proxy the reopened session goes through.
	Proxy string `json:"proxy,omitempty"`
}

// decided is wahost's disconnect.decided payload: every disconnect and
// the decision taken.
type decided struct {
	Instance     string          `json:"instance"`
	Kind         abi.Kind        `json:"kind"`
	Code         int             `json:"code"`
	Cause        abi.Cause       `json:"cause"`
	Message      string          `json:"message,omitempty"`
	Attempt      int             `json:"attempt"`
	Decision     json.RawMessage `json:"decision"`
	PolicySHA256 string          `json:"policySha256,omitempty"`
	Fallback     bool            `json:"fallback"`
	// Proxy is the ID (no credentials) of the proxy the connection went
	// through; absent for a direct one.
	Proxy string `json:"proxy,omitempty"`
	// ProxyTo is the ID of the proxy the decision's switch_proxy moved
	// the instance to for its next connect; absent when it did not move.
	ProxyTo string `json:"proxyTo,omitempty"`
}

// disconnectionObject is the instance's disconnectionObject: the event and
// the decision, as JSON.
// AppendJSON appends d as encoding/json writes it (webhook.Appender). The
// decision is the document disconnect.Decider wrote: compact and valid,
// embedded as it is.
func (d decided) AppendJSON(b []byte) []byte {
	b = append(b, `{"instance":`...)
	b = jsonw.AppendString(b, d.Instance)
	b = append(b, `,"kind":`...)
	b = jsonw.AppendString(b, string(d.Kind))
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(d.Code), 10)
	b = append(b, `,"cause":`...)
	b = jsonw.AppendString(b, string(d.Cause))
	b = appendOptional(b, `,"message":`, d.Message)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(d.Attempt), 10)
	b = append(b, `,"decision":`...)
	if len(d.Decision) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, d.Decision...)
	}
	b = appendOptional(b, `,"policySha256":`, d.PolicySHA256)
	b = append(b, `,"fallback":`...)
	b = strconv.AppendBool(b, d.Fallback)
	b = appendOptional(b, `,"proxy":`, d.Proxy)
	b = appendOptional(b, `,"proxyTo":`, d.ProxyTo)
	return append(b, '}')
}

func disconnectionObject(ev *abi.Event, o *disconnect.Outcome) json.RawMessage {
	b, _ := json.Marshal(struct {
		Kind     abi.Kind        `json:"kind"`
		Code     int             `json:"code"`
		Raw      string          `json:"raw,omitempty"`
		Message  string          `json:"message,omitempty"`
		Cause    abi.Cause       `json:"cause"`
		Decision json.RawMessage `json:"decision"`
	}{ev.Kind, ev.Code, ev.Raw, ev.Message, ev.Cause, o.Doc})
	return b
}

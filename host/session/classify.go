package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/proxy"
)

// maxText bounds Raw and Message. The store refuses texts over 4 KiB
// rather than truncating them, and a whatsmeow node rendered as XML can be
// longer.
const maxText = 1024

// classify maps a whatsmeow event that ends a connection, or stands for
// its end, to the event the policy sees. ok is false for other events.
func classify(evt any) (ev abi.Event, ok bool) {
	switch e := evt.(type) {
	case *events.Disconnected:
		ev = abi.Event{Kind: abi.KindDisconnected, Code: abi.CodeConnectionClosed,
			Raw: "events.Disconnected{}", Message: "connection closed"}
	case *events.StreamReplaced:
		ev = abi.Event{Kind: abi.KindStreamReplaced, Code: abi.CodeConnectionReplaced,
			Raw: "events.StreamReplaced{}", Message: "another client connected with this session's keys"}
	case *events.LoggedOut:
		code := int(e.Reason)
		if code == 0 {
			code = abi.CodeLoggedOut
		}
		when := "while connected"
		if e.OnConnect {
			when = "on connect"
		}
		ev = abi.Event{Kind: abi.KindLoggedOut, Code: code,
			Raw:     fmt.Sprintf("events.LoggedOut{OnConnect:%t Reason:%d}", e.OnConnect, int(e.Reason)),
			Message: fmt.Sprintf("logged out %s: %s", when, e.Reason)}
	case *events.TemporaryBan:
		ev = abi.Event{Kind: abi.KindTemporaryBan, Code: abi.CodeTemporaryBan,
			Raw:      fmt.Sprintf("events.TemporaryBan{Code:%d Expire:%s}", int(e.Code), e.Expire),
			Message:  e.String(),
			ExpireMS: e.Expire.Milliseconds(), BanCode: int(e.Code)}
	case *events.ConnectFailure:
		msg := "login refused: " + e.Reason.String()
		if e.Message != "" {
			msg += ": " + e.Message
		}
		ev = abi.Event{Kind: abi.KindConnectFailure, Code: int(e.Reason), Raw: nodeText(e.Raw, "events.ConnectFailure"),
			Message: msg}
	case *events.ClientOutdated:
		ev = abi.Event{Kind: abi.KindClientOutdated, Code: abi.CodeClientOutdated,
			Raw: "events.ClientOutdated{}", Message: "the server rejected this WhatsApp web client version; update whatsmeow"}
	case *events.StreamError:
		code, err := strconv.Atoi(e.Code)
		if err != nil || code <= 0 {
			code = abi.CodeBadSession
		}
		msg := "the server ended the stream with an error"
		if e.Code != "" {
			msg += " (code " + e.Code + ")"
		}
		ev = abi.Event{Kind: abi.KindStreamError, Code: code, Raw: nodeText(e.Raw, "events.StreamError"), Message: msg}
	case *events.KeepAliveTimeout:
		ev = abi.Event{Kind: abi.KindKeepAliveTimeout, Code: abi.CodeConnectionLost,
			Raw: fmt.Sprintf("events.KeepAliveTimeout{ErrorCount:%d LastSuccess:%s}",
				e.ErrorCount, e.LastSuccess.UTC().Format(time.RFC3339Nano)),
			Message: fmt.Sprintf("%d keepalive ping(s) unanswered; last answer %s ago",
				e.ErrorCount, time.Since(e.LastSuccess).Round(time.Millisecond))}
	case *events.CATRefreshError:
		// whatsmeow does not say whether the token expired (413) or was
		// invalid (414).
		ev = abi.Event{Kind: abi.KindCATRefreshError, Code: int(events.ConnectFailureCATExpired),
			Raw: "events.CATRefreshError{" + errText(e.Error) + "}", Message: "crypto auth token refresh failed"}
	case *events.QRScannedWithoutMultidevice:
		ev = abi.Event{Kind: abi.KindMultideviceMismatch, Code: abi.CodeMultideviceMismatch,
			Raw:     "events.QRScannedWithoutMultidevice{}",
			Message: "the phone scanned the QR code without multi-device support"}
	case *events.ManualLoginReconnect:
		ev = abi.Event{Kind: abi.KindRestartRequired, Code: abi.CodeRestartRequired,
			Raw: "events.ManualLoginReconnect{}", Message: "the server asked for a reconnect (stream error 515)"}
	case *events.PairError:
		ev = abi.Event{Kind: abi.KindPairError, Code: abi.CodeBadSession,
			Raw: "events.PairError{" + errText(e.Error) + "}", Message: "pairing failed after the scan: " + errText(e.Error)}
	default:
		return abi.Event{}, false
	}
	ev.Cause = abi.CauseNone
	ev.Raw, ev.Message = clip(ev.Raw), clip(ev.Message)
	return ev, true
}

// silentClose is the event for a bare events.Disconnected that whatsmeow's
// log explained (see hints): a login failure or a stream error 503 that
// whatsmeow handles by waiting for the close. ok is false without one.
func silentClose(failure int, stream503 bool) (ev abi.Event, ok bool) {
	switch {
	case failure != 0:
		r := events.ConnectFailureReason(failure)
		ev = abi.Event{Kind: abi.KindConnectFailure, Code: failure,
			Raw: fmt.Sprintf("<failure reason=%q/>", r.NumberString()), Message: "login refused: " + r.String()}
	case stream503:
		ev = abi.Event{Kind: abi.KindStreamError, Code: abi.CodeUnavailable,
			Raw: `<stream:error code="503"/>`, Message: "the server ended the stream with an error (code 503)"}
	default:
		return abi.Event{}, false
	}
	ev.Cause = abi.CauseNone
	return ev, true
}

// networkCause says what kind of network failure err is, CauseNone when it
// is none of the known kinds.
func networkCause(err error) abi.Cause {
	var status socket.ErrWithStatusCode
	var dns *net.DNSError
	var netErr net.Error
	switch {
	case err == nil:
		return abi.CauseNone
	case errors.Is(err, proxy.ErrAuth):
		return abi.CauseProxyAuth
	case errors.As(err, &status):
		return abi.CauseHTTPStatus
	case errors.As(err, &dns):
		return abi.CauseDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return abi.CauseRefused
	case strings.Contains(err.Error(), "noise handshake failed"):
		// whatsmeow wraps handshake failures with this text and no sentinel.
		return abi.CauseHandshake
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT),
		errors.As(err, &netErr) && netErr.Timeout():
		return abi.CauseTimeout
	}
	return abi.CauseNone
}

// connectError is the event for a failed Connect: code 408, or the HTTP
// status the websocket upgrade was answered with.
func connectError(err error) abi.Event {
	cause := networkCause(err)
	ev := abi.Event{Kind: abi.KindConnectError, Code: abi.CodeTimedOut, Cause: cause, Raw: clip(errText(err))}
	var status socket.ErrWithStatusCode
	switch cause {
	case abi.CauseHTTPStatus:
		errors.As(err, &status)
		ev.Code = status.StatusCode
		ev.Message = fmt.Sprintf("the websocket upgrade was answered with HTTP %d", status.StatusCode)
	case abi.CauseDNS:
		ev.Message = "the WhatsApp host name did not resolve"
	case abi.CauseRefused:
		ev.Message = "the connection was refused"
	case abi.CauseTimeout:
		ev.Message = "connecting timed out"
	case abi.CauseHandshake:
		ev.Message = "the Noise handshake failed"
	case abi.CauseProxyAuth:
		ev.Message = "the proxy refused the credentials"
	default:
		ev.Message = "connecting failed"
	}
	var de *proxy.DialError
	if errors.As(err, &de) {
		// Say whether the proxy or WhatsApp behind it was unreachable.
		where := map[string]string{
			proxy.StageProxy: "the proxy was unreachable", proxy.StageAuth: "the proxy refused the credentials",
			proxy.StageTarget: "the proxy could not reach WhatsApp",
		}[de.Stage]
		ev.Message = clip(fmt.Sprintf("through proxy %s: %s (%s)", de.Proxy, where, ev.Message))
	}
	return ev
}

// withReadError adds the websocket read error that ended the connection to
// a Disconnected event: its cause when it is a known one, its text in the
// message.
func withReadError(ev abi.Event, err error) abi.Event {
	if err == nil {
		return ev
	}
	ev.Cause = networkCause(err)
	ev.Message = clip(ev.Message + ": " + err.Error())
	return ev
}

func nodeText(n *waBinary.Node, fallback string) string {
	if n == nil {
		return fallback + "{}"
	}
	return n.XMLString()
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// clip makes s valid UTF-8 and at most maxText bytes long, cutting at a
// rune boundary.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxText {
		return s
	}
	cut := maxText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

package abi

// Kind is the kind of event a decision is about. The set is closed within a
// minor version; the table in abi/SPEC.md maps each kind to the whatsmeow
// event it comes from and its default code.
type Kind string

// The event kinds of ABI v1.
const (
	// KindDisconnected: the socket closed with nothing said before it
	// (whatsmeow events.Disconnected). Code 428.
	KindDisconnected Kind = "disconnected"
	// KindKeepAliveTimeout: keepalive pings went unanswered for longer than
	// the host's inactivity limit (events.KeepAliveTimeout). Code 408.
	KindKeepAliveTimeout Kind = "keepalive_timeout"
	// KindConnectError: connecting failed before login; Cause says why.
	// Code 408, or the HTTP status the server answered with.
	KindConnectError Kind = "connect_error"
	// KindQRTimeout: the QR codes of one login attempt ran out unscanned.
	// Code 408.
	KindQRTimeout Kind = "qr_timeout"
	// KindQRLimit: the host showed as many QR codes as its limit allows.
	// Code 428.
	KindQRLimit Kind = "qr_limit"
	// KindStreamReplaced: another client connected with the same keys
	// (events.StreamReplaced). Code 440.
	KindStreamReplaced Kind = "stream_replaced"
	// KindLoggedOut: the device was unlinked (events.LoggedOut); whatsmeow
	// has already deleted its keys. Code 401, 403 or 406.
	KindLoggedOut Kind = "logged_out"
	// KindTemporaryBan: the account is banned for a while
	// (events.TemporaryBan); ExpireMS and BanCode are set. Code 402.
	KindTemporaryBan Kind = "temporary_ban"
	// KindRestartRequired: the server asked for a reconnect, normally right
	// after pairing (events.ManualLoginReconnect). Code 515.
	KindRestartRequired Kind = "restart_required"
	// KindStreamError: the server ended the stream with an error code
	// (events.StreamError). Code as sent, 500 when none.
	KindStreamError Kind = "stream_error"
	// KindConnectFailure: the server refused the login
	// (events.ConnectFailure, and failures 500/503). Code = the reason.
	KindConnectFailure Kind = "connect_failure"
	// KindClientOutdated: the server rejected the client version
	// (events.ClientOutdated). Code 405.
	KindClientOutdated Kind = "client_outdated"
	// KindCATRefreshError: a crypto-auth-token refresh failed
	// (events.CATRefreshError). Code 413 or 414.
	KindCATRefreshError Kind = "cat_refresh_error"
	// KindMultideviceMismatch: the phone scanned the QR code without
	// multi-device (events.QRScannedWithoutMultidevice). Code 411.
	KindMultideviceMismatch Kind = "multidevice_mismatch"
	// KindPairError: pairing failed after the scan (events.PairError).
	// Code 500.
	KindPairError Kind = "pair_error"
	// KindDegraded (ABI 1.2): the session is open but its traffic crossed
	// one of the host's thresholds (Event.Signal names it; Input.Traffic
	// has the counters). Code 0. Only a module of ABI 1.2 or later is
	// asked about it, and only it may answer ActionKeep.
	KindDegraded Kind = "degraded"
)

// DegradedMinor is the first ABI minor version that knows KindDegraded
// and ActionKeep.
const DegradedMinor = 2

// Kinds lists every kind of ABI v1.
var Kinds = []Kind{
	KindDisconnected, KindKeepAliveTimeout, KindConnectError, KindQRTimeout,
	KindQRLimit, KindStreamReplaced, KindLoggedOut, KindTemporaryBan,
	KindRestartRequired, KindStreamError, KindConnectFailure,
	KindClientOutdated, KindCATRefreshError, KindMultideviceMismatch,
	KindPairError, KindDegraded,
}

// Known reports whether k is a kind of this ABI version.
func (k Kind) Known() bool {
	for _, c := range Kinds {
		if c == k {
			return true
		}
	}
	return false
}

// internKind returns the constant for a known kind without allocating, or
// a new string for an unknown one.
func internKind(s []byte) Kind {
	switch string(s) {
	case "disconnected":
		return KindDisconnected
	case "keepalive_timeout":
		return KindKeepAliveTimeout
	case "connect_error":
		return KindConnectError
	case "qr_timeout":
		return KindQRTimeout
	case "qr_limit":
		return KindQRLimit
	case "stream_replaced":
		return KindStreamReplaced
	case "logged_out":
		return KindLoggedOut
	case "temporary_ban":
		return KindTemporaryBan
	case "restart_required":
		return KindRestartRequired
	case "stream_error":
		return KindStreamError
	case "connect_failure":
		return KindConnectFailure
	case "client_outdated":
		return KindClientOutdated
	case "cat_refresh_error":
		return KindCATRefreshError
	case "multidevice_mismatch":
		return KindMultideviceMismatch
	case "pair_error":
		return KindPairError
	case "degraded":
		return KindDegraded
	case "":
		return ""
	}
	return Kind(s)
}

func internPhase(s []byte) Phase {
	switch string(s) {
	case "qr":
		return PhaseQR
	case "pairing":
		return PhasePairing
	case "connecting":
		return PhaseConnecting
	case "open":
		return PhaseOpen
	case "":
		return ""
	}
	return Phase(s)
}

func internCause(s []byte) Cause {
	switch string(s) {
	case "none":
		return CauseNone
	case "dns":
		return CauseDNS
	case "refused":
		return CauseRefused
	case "timeout":
		return CauseTimeout
	case "http_status":
		return CauseHTTPStatus
	case "handshake":
		return CauseHandshake
	case "proxy_auth":
		return CauseProxyAuth
	case "":
		return ""
	}
	return Cause(s)
}

// Cause is the network cause of a connect error.
type Cause string

// The network causes.
const (
	CauseNone       Cause = "none"
	CauseDNS        Cause = "dns"         // the name did not resolve
	CauseRefused    Cause = "refused"     // the connection was refused
	CauseTimeout    Cause = "timeout"     // dialing or the handshake timed out
	CauseHTTPStatus Cause = "http_status" // the websocket upgrade got a non-101 status
	CauseHandshake  Cause = "handshake"   // the Noise handshake failed
	// CauseProxyAuth: the proxy refused the credentials (ABI 1.3; a
	// module of an older minor sees CauseNone, see InputForMinor).
	CauseProxyAuth Cause = "proxy_auth"
)

func (c Cause) orNone() Cause {
	if c == "" {
		return CauseNone
	}
	return c
}

// Action is what a decision tells the host to do.
type Action string

// The actions of ABI v1.
const (
	ActionReconnect Action = "reconnect"
	ActionLogout    Action = "logout"
	// ActionKeep (ABI 1.2) does nothing now: valid only for KindDegraded.
	ActionKeep Action = "keep"
)

func internAction(s []byte) Action {
	switch string(s) {
	case string(ActionReconnect):
		return ActionReconnect
	case string(ActionLogout):
		return ActionLogout
	case string(ActionKeep):
		return ActionKeep
	case "":
		return ""
	}
	return Action(s)
}

// The escalation steps of a reconnect, each including the ones before it in
// spirit: the host carries out the named step, then reconnects.
const (
	StepReconnect = 1 // plain reconnect
	StepPurge     = 2 // purge the instance's cache first
	StepReset     = 3 // reset the session first: a new QR scan will be needed
	StepRecreate  = 4 // close and recreate the client first
)

// Baileys-compatible status codes, as Evolution API users know them.
const (
	CodeConnectionClosed    = 428
	CodeConnectionLost      = 408
	CodeTimedOut            = 408
	CodeConnectionReplaced  = 440
	CodeLoggedOut           = 401
	CodeForbidden           = 403
	CodeTemporaryBan        = 402
	CodeNotAcceptable       = 406
	CodeBadSession          = 500
	CodeRestartRequired     = 515
	CodeMultideviceMismatch = 411
	CodeUnavailable         = 503
	CodeClientOutdated      = 405
)

// Package session runs one go.mau.fi/whatsmeow client per wahost instance
// and reports everything that happens to it — logins, QR codes, pairings
// and every drop the host did not cause — to a Handler (the executor), in
// order per instance. It is the only package of the host that imports
// whatsmeow.
//
// # Who reconnects
//
// whatsmeow's own reconnects are off (EnableAutoReconnect false,
// DisableLoginAutoReconnect true, and a RefreshCAT that fails instead of
// the nil function that crashes on a 413/414 failure): every drop goes to
// the policy, and the executor calls Connect when the policy says so.
//
// # Ordering
//
// whatsmeow calls event handlers synchronously on its own goroutines, and
// dispatches most connection events on goroutines of their own. The event
// handler therefore only queues a job on the instance's queue, which a
// goroutine runs one job at a time; it is started when a job arrives and
// ends when the queue is empty, so an idle instance costs none. Connect
// runs on the same queue, after the events already queued. The queue
// refuses only keepalive notices when it is full; drops, logins, QR codes
// and connects are always queued, so a disconnect is never lost.
//
// # Drops
//
// One report per connection, for the first of:
//
//	events.Disconnected             disconnected 428, the read error as cause and message;
//	                                a <failure reason=500|503> or <stream:error code=503>
//	                                whatsmeow only logged becomes connect_failure or stream_error
//	events.StreamReplaced           stream_replaced 440
//	events.LoggedOut                logged_out 401/403/406 (whatsmeow deletes the device)
//	events.TemporaryBan             temporary_ban 402, with ban code and expiry
//	events.ConnectFailure           connect_failure, the reason as code
//	events.ClientOutdated           client_outdated 405
//	events.StreamError              stream_error, its code (500 when none)
//	events.CATRefreshError          cat_refresh_error 413
//	events.QRScannedWithoutMultidevice  multidevice_mismatch 411 (the session disconnects)
//	events.ManualLoginReconnect     restart_required 515 (the session disconnects)
//	events.PairError                pair_error 500
//	events.KeepAliveTimeout         keepalive_timeout 408 once pings went unanswered
//	                                for Config.KeepAliveLimit (the session disconnects)
//	Connect errors                  connect_error 408 or the HTTP status; cause dns,
//	                                refused, timeout, http_status or handshake
//	QR codes run out                qr_timeout 408 (the session disconnects)
//	Config.InactivityTimeout        qr_limit 428: the login did not pair in time
//
// A bare Disconnected waits Config.DisconnectGrace for an event that
// explains it, because whatsmeow may deliver a stream error just after the
// close it caused. A disconnect the host causes — Disconnect, ResetSession,
// Recreate, Logout, Remove, Close, a QR limit — is not reported.
//
// # What only whatsmeow's log says
//
// The whatsmeow logger the session installs (an slog adapter) also reads
// three facts out of whatsmeow's log calls, which whatsmeow reports
// nowhere else: the error that ended a websocket read loop (the cause of a
// bare Disconnected), a login failure or stream error 500/503 whatsmeow
// handles by waiting for the close, and that whatsmeow has finished
// handling a socket's close. The last one matters after a drop whatsmeow
// expected (LoggedOut, StreamReplaced, a refused login): the server then
// closes the socket, and closing the client meanwhile would race with
// whatsmeow's own close, whose socket code reads without a lock the
// fields Disconnect writes. Disconnect and the next Connect therefore wait
// for that close, at most two seconds. The drop-table tests fail if a
// whatsmeow upgrade rewords these lines.
//
// # Devices
//
// Devices live in whatsmeow's SQL store on the host's database
// (storage/sessionstore). The session reports the device JID
// ("5511…:7@s.whatsapp.net") to HandlePaired and HandleConnected, and
// finds an instance's device again from that JID, stored as the instance's
// OwnerJID. It keeps the JID when whatsmeow deletes the device on
// LoggedOut, so ResetSession can still remove what that delete leaves.
//
// # QR codes
//
// The codes of a pair-device request are shown one after the other, timed
// on Config.Clock as whatsmeow's QR channel times them (QRFirstCodeTimeout,
// then QRCodeTimeout), each through Handler.HandleQR with a PNG data URL.
// When HandleQR answers false (the QR limit), the login stops.
//
// # Limits
//
// whatsmeow's events say nothing about the socket they concern. A
// Disconnected that whatsmeow dispatched for an old socket but delivered
// after a new Connect has opened the next one would be taken for a drop of
// the new one; the queue narrows that window to the goroutine scheduling
// gap inside whatsmeow.
package session

// Package session runs one go.mau.fi/whatsmeow client per wahost instance
// and reports everything that happens to it — logins, QR codes, pairings
// and every drop the host did not cause — to a Handler (the executor), in
// order per instance, and carries the instances' messages: it implements
// message.Session and hands what arrives to a message.Traffic (see
// Traffic). It and its msgconv package are the only packages of the host
// that import whatsmeow.
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
//	events.ManualLoginReconnect     restart_required 515 (the server closes the socket)
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
// expected (LoggedOut, StreamReplaced, a 515 restart, a refused login):
// the server then closes the socket, and closing the client meanwhile
// would race with whatsmeow's own close, whose socket code reads without
// a lock the fields Disconnect writes (FrameSocket.Close reads the
// OnDisconnect that NoiseSocket.Stop clears). Disconnect and the next
// Connect therefore wait for that close, at most two seconds. The drop-table tests fail if a
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
// # Traffic
//
// The Manager is the messaging service's message.Session: Send uploads
// the file of a media kind (Client.Upload), builds the WhatsApp message
// with host/session/msgconv and sends it with SendRequestExtra{ID: out.ID,
// Timeout: Config.SendTimeout}, so that a send repeated after a crash is
// the same message to WhatsApp. whatsmeow's errors become the ones the
// service branches on: message.ErrNotConnected (no open session, or the
// socket went away), *message.ServerError (the ack's error code),
// message.ErrTimeout (no ack in time) and *message.InvalidError (a bad
// JID, missing content). IsOnWhatsApp, MarkRead, SendPresence,
// ProfilePictureURL and Download (which decodes the stored JSON back with
// msgconv.FromJSON) need an open session too.
//
// What arrives goes to Config.Traffic. Unlike connection events, a
// message is handled synchronously, on whatsmeow's goroutine: the client
// runs with SynchronousAck, and its handler (registered with
// AddEventHandlerWithSuccessStatus) returns false when
// Traffic.HandleIncoming fails, so whatsmeow does not send the delivery
// receipt (for a message, also the server's acknowledgement of the
// stanza) and the server delivers the message again on the next
// connection. A message is thus acknowledged only once it is durable.
// Queueing it instead would acknowledge it before it was stored.
// Blocking whatsmeow costs nothing here: it handles one client's nodes
// one at a time on a single goroutine anyway, in the order the server
// sent them, which is also the order the Traffic sees. whatsmeow's
// decrypted-event buffer (EnableDecryptedEventBuffer) keeps the plaintext
// of a message until its handler succeeds; without it the redelivered
// ciphertext could not be decrypted again (its Signal counter is spent)
// and the message would be lost. Receipts follow the same rule
// (HandleReceipt; delivered, inactive, read and played, not the ones our
// own devices send). A message sent from the phone arrives with
// Key.FromMe. The group sender-key distribution that comes as a message
// event of its own, with the id of the real message, is skipped.
//
// Duplicates: after a crash between the store's commit and the receipt,
// the server delivers a message again. The store's unique key (instance,
// message id) catches it, so HandleIncoming must answer nil for a
// message it already has (storage.ErrDuplicateMessage); the session keeps
// no id cache of its own.
//
// Limits of the rule: a message whose HandleIncoming failed comes again
// only on the next connection, so the messages after it on this one reach
// the Traffic first; and incoming messages may reach the Traffic before
// the Handler has recorded the login that carried them, the two paths
// not being ordered.
//
// # History
//
// With Config.HistorySync off, ManualHistorySyncDownload is set and the
// history WhatsApp offers after a pairing is neither downloaded nor
// reported. On, whatsmeow downloads each blob and the session hands it to
// Traffic.HandleHistory in batches of at most 200 messages, with the
// chats and push names, at most Config.HistoryLimit messages per blob.
//
// # The sent-message cache
//
// A recipient that cannot decrypt a message sends a retry receipt, and
// the sender must encrypt the same message again. whatsmeow remembers its
// last few hundred sends in memory only; the session also keeps each sent
// message, marshalled, in Config.Cache under "sent:<id>" for
// Config.SentTTL (24 h by default) and gives it back through
// Client.GetMessageForRetry, so a retry that arrives after a restart is
// still answered. A reply quotes the replied-to message from the same
// cache when it is there. Purging the instance's cache (an instance reset
// does) costs exactly that: retry receipts for older messages go
// unanswered (the recipient sees "waiting for this message"), and replies
// to them carry no quoted preview.
//
// # Limits
//
// whatsmeow's events say nothing about the socket they concern. A
// Disconnected that whatsmeow dispatched for an old socket but delivered
// after a new Connect has opened the next one would be taken for a drop of
// the new one; the queue narrows that window to the goroutine scheduling
// gap inside whatsmeow.
package session

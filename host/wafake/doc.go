// Package wafake is a fake WhatsApp web server that the real whatsmeow
// client connects to in-process, without internet. It owns the server
// side of the protocol as far as connection lifecycle and messaging tests
// need it: the websocket at /ws/chat, WhatsApp's frame header, the
// responder side of the Noise_XX handshake with a certificate chain under
// a root key this package generates, and encrypted binary XML nodes
// (marshalled with whatsmeow's own binary package). It relays messages, receipts and media
// between real whatsmeow clients (see Relaying messages) with faults to
// inject, and provides the network failures a supervisor must classify:
// refused, black-holed, HTTP-status and DNS endpoints.
//
// # Connecting a client
//
// NewServer listens on a loopback port and installs the package root
// public key into whatsmeow.WACertPubKey (InstallRootKey: once per
// process; every Server shares the root). whatsmeow always dials
// wss://web.whatsapp.com/ws/chat, so the client is pointed at the server
// through its HTTP client hooks:
//
//	srv, err := wafake.NewServer(wafake.Config{})
//	...
//	defer srv.Close()
//	wafake.Route(cli, srv.HTTPClient()) // SetWebsocketHTTPClient + SetPreLoginHTTPClient
//
// A device the client logs in with comes from Phone.Link, which makes a
// store.Device look paired (ID, LID, signed ADV identity) without a
// connection; an unpaired device registers and gets QR refs.
//
// # Scripts
//
// Each connection whose handshake completes runs a Script, the next one
// queued with Server.Enqueue or else Config.Script (default Auto). While
// it runs, and after it returns, the server keeps reading the connection:
// every node is recorded for Conn.Await, and IQ requests (prekey count and
// upload, passive, keepalive pings, usync, …) are answered at once, unless
// Conn.HandleIQ says otherwise. With whatsmeow configured as a supervisor
// wants it (EnableAutoReconnect false, DisableLoginAutoReconnect true,
// RefreshCAT returning an error), the scripts produce:
//
//	Success()                     events.Connected
//	TemporaryBan(code, expire)    events.TemporaryBan{Code, Expire}
//	Failure(401|403|406, nil)     events.LoggedOut{OnConnect: true, Reason}; the store is deleted
//	Failure(405, nil)             events.ClientOutdated
//	Failure(413|414, nil)         events.CATRefreshError
//	Failure(500|503, nil)         events.Disconnected
//	Failure(other, attrs)         events.ConnectFailure{Reason, Message}
//	StreamError("515")            events.ManualLoginReconnect, then events.Disconnected
//	StreamError("503")            events.Disconnected
//	StreamError("500"|"401"|…)    events.StreamError{Code}, then events.Disconnected
//	StreamReplaced()              events.StreamReplaced
//	DeviceRemoved()               events.LoggedOut{OnConnect: false, Reason: 401}
//	Drop(), Close()               events.Disconnected
//	IgnorePings()                 events.KeepAliveTimeout (shrink whatsmeow.KeepAlive* first)
//	ShowQR(refs...)               events.QR and QR channel codes, for an unpaired device
//	DowngradeWebclient()          events.QRScannedWithoutMultidevice
//
// Steps chains them, e.g. Steps(Success(), StreamReplaced()). A test can
// also drive a connection by hand: Server.Accept returns connections in
// order, and Conn has Send, Request, Await, Flush, Close, Drop and Pair.
//
// Conn.Pair completes QR pairing: given a code the client showed, the fake
// plays the phone (a Phone holds the account identity key), sends
// pair-success with an ADV device identity signed by the phone and
// authenticated with the client's ADV secret, and checks the client's
// counter-signature; the client emits events.PairSuccess and saves the
// device. After StreamErrorNode("515") the client logs in again.
//
// # Relaying messages
//
// The server relays between real whatsmeow clients, which do all the
// Signal cryptography; it never decrypts. Its world (users, keys, groups,
// media, queues) lives on the Server and outlives connections.
//
//   - Keys: each device's prekey upload (encrypt set) is stored; the count
//     query gets the number of one-time keys really stored (a device with
//     none is told MinPreKeyCount-1 so it uploads 50 rather than 812,
//     unless Config.FullInitialUpload); a key fetch gets one bundle per
//     device, consuming one one-time key, signed-prekey-only once they run
//     out, <error code="404"/> for a device without keys.
//   - usync: device lists name the devices with keys, never the asking
//     device; contact queries (IsOnWhatsApp) say which numbers are
//     registered (RegisterUser, or a device logging in). When a device
//     first uploads keys or is removed (RemoveDevice), every other device
//     gets <notification type="devices">, so whatsmeow asks again.
//   - Messages: every <message> is acked (<ack class=message id from=TO
//     t>); each <participants><to jid=DEV> payload goes to DEV as <message
//     from=SENDER_DEVICE id t type [notify] [edit]>, with recipient=CHAT on
//     copies to the sender's own devices (IsFromMe); a resend addressed to
//     one device goes to that device only. Edits, revokes and reactions
//     are ordinary messages and relay the same way.
//   - Groups: CreateGroup makes one; w:g2 info queries are answered; a
//     group message goes to every member device but the sender's as
//     <message from=GID participant=SENDER_DEVICE> with that device's
//     pairwise <enc> (the sender key) first, then the skmsg.
//   - Receipts are acked and relayed to every device of the author except
//     the sender (from=GID participant=READER in groups); retry receipts
//     only to the exact device named; "inactive" becomes a plain delivery.
//   - Offline devices: what is relayed to a device without a live
//     connection is queued and written at its next login, after <success>
//     and before <ib><offline count=N/></ib> (the Success script does
//     this).
//   - Media: media_conn names this server as the host; POST /mms/… stores
//     the encrypted upload and answers whatsmeow's JSON (url, direct_path),
//     GET of the URL or direct path serves it. Route sets whatsmeow's media
//     HTTP client too. SetProfilePicture makes w:profile:picture answer
//     with a URL on the server.
//
// AwaitRelayed (with RelayedMessage, RelayedReceipt) waits for what was
// written to a device, so tests never sleep; Settle waits until every
// logged-in client has handled what it was sent.
//
// # Faults
//
// Per device: DropAcks (relay without acking: ErrMessageTimedOut),
// AckError (ack with an error code and relay nothing:
// ErrServerReturnedError), CorruptNext (garble the ciphertext of the next
// N messages to it: events.UndecryptableMessage, a retry receipt and a
// resend), PauseRelay (queue silently while connected). A second
// connection of a device still connected after ReplaceGrace replaces the
// older one with <stream:error><conflict type="replaced"/></stream:error>
// (events.StreamReplaced); Connections and Conflicts count them.
//
// A rate limit (Config.RateLimit, Server.SetRateLimit) refuses a device's
// login within a cool-down of its previous connection's end (by default
// with <failure reason="503">, which restarts the cool-down), as WhatsApp
// turns away clients that reconnect in a tight loop; Refusals counts them.
//
// # Network causes
//
// RefusingAddr (ECONNREFUSED), NewBlackHole (accepts, never answers:
// context.DeadlineExceeded once http.Client.Timeout passes),
// NewStatusServer (socket.ErrWithStatusCode) and DNSFailureHTTPClient
// (*net.DNSError) make Connect fail the way the network would; build the
// client's *http.Client with HTTPClientTo.
//
// # Races inside whatsmeow
//
// whatsmeow's frame socket reads its connection fields without a lock in
// its read loop and when sending, and its QR channel closes its output
// from the Disconnected handler while an emitter goroutine may send on
// it. A test under -race therefore keeps the two sides apart: it ends the
// stream from one side only (the server's scripts, or Server.Close at
// cleanup, rather than a local Disconnect while the server is closing);
// it waits for a stream-ending script to return (Conn.ScriptDone) before
// it lets the server shut down; it calls Connect again only after
// events.Disconnected; and it ends a QR channel by cancelling its context.
// The server does its share: Success and the stream-ending scripts flush
// (Conn.Flush) before they close, so the client has finished its requests
// and handled the <failure> or <stream:error> when the socket goes away,
// and Close and Drop never close a connection on which nothing was sent.
// Package wafaketest wraps these rules for tests.
//
// # Limits
//
// Everything is phone-number addressed: no LIDs (the clients log a
// harmless "No LID found"), no LID-addressed groups. Not implemented:
// group management from clients (create, add, remove, w:gp2
// notifications), app state, history sync, presence and chat states,
// broadcasts and newsletters, peer messages addressed to the own user
// (only those to one device are relayed), phash checks, and phone-number
// pairing (PairPhone). The server does not verify that a sender may
// message a recipient; media is kept in memory until Close.
package wafake

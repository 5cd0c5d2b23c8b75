// Package messaging is the messaging service: it accepts outgoing messages
// into a durable queue, sends them through the session layer in order and
// at a paced rate, stores what sessions receive, follows receipts, and
// reports every change as an Evolution API webhook written in the same
// unit of work as the change.
//
// The path of an outgoing message:
//
//	Accept: validate, fix the WhatsApp id, one unit of work (InsertMessage) → 202
//	  → the instance's worker (one per instance with queued messages, Seq order)
//	  → pacing (rate + jitter, injected clock) → media fetched (bounded) → Session.Send
//	  → one unit of work: status sent + send.message + messages.update (SERVER_ACK)
//	  → receipts: HandleReceipt → delivered/read/played + messages.update
//
// A message whose session is down waits until the session opens (Wake) or
// it expires (messages.ttl: failed "expired"); a logout fails the queue
// ("logged_out") inside the executor's unit of work (FailQueued). After a
// crash the workers resume from the store and send with the same ids.
//
// # Group commit
//
// The units of work that write webhooks — a send's acknowledgement
// (status sent, send.message, messages.update), an incoming message and
// its webhook, a receipt's updates — go through one storage.Committer.
// Units that arrive while a commit is under way are committed together in
// the next group, at most Config.Batch of them: the acknowledgements of
// several instances' sends that complete together, the incoming messages
// of several sessions. Each unit stays atomic (its status and its webhooks
// in one unit of work), its caller hears nothing until it has committed —
// so a session acknowledges an incoming message to WhatsApp only after the
// group holding it committed — and a unit that fails fails alone. One
// commit per group instead of one per message is what lifts the
// throughput: a commit waits for the disk. An accept writes no webhook and
// commits alone, so that it answers as soon as its own row is down.
// Several groups run at once (storage.DefaultLeaders) because a unit's
// statements are round trips that concurrent transactions overlap; small
// groups (DefaultBatch) keep one group's
// round trips from queueing the others. BenchmarkStack measures it.
//
// # Metrics
//
// With Config.Registerer: wahost_messages_queued_instances (instances with
// queued messages, a worker each), wahost_messages_sent_total,
// wahost_messages_failed_total{reason} (the reason's kind: server_error
// for "server_error:463"), wahost_messages_ack_seconds (accept to the
// acknowledgement's commit) and wahost_messages_incoming_total. Messages
// a logout fails (FailQueued, in the executor's unit of work) are not
// counted in failed_total.
//
// # Marking messages read sends no webhook
//
// MarkRead sends read receipts to WhatsApp and stores the messages as
// read, with no webhook: Evolution API's markMessageAsRead
// (whatsapp.baileys.service.ts) only calls Baileys' readMessages, which
// sends the receipts, and returns
// {"message": "Read messages", "read": "success"}; no messages.update is
// emitted for the reader's own receipts (WhatsApp echoes them as read-self
// to the account's other devices only). wahost does the same.
//
// The service speaks to the session layer only through message.Session and
// to the store only through storage's interfaces; HTTP lives in host/api.
package messaging

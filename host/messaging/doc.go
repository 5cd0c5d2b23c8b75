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
// The service speaks to the session layer only through message.Session and
// to the store only through storage's interfaces; HTTP lives in host/api.
package messaging

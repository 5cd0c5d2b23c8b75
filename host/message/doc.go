// Package message holds the domain types of a session's traffic, shared by
// the session layer (which speaks whatsmeow) and the messaging service
// (which queues, stores and reports): what an app asks to send, what a
// session receives, the receipts for what was sent, and the errors both
// sides branch on. It imports only the standard library, so neither side
// names the other's types.
//
// JIDs travel as strings in whatsmeow's text form: "5511999999999@s.whatsapp.net"
// for a user, "120363…@g.us" for a group, "5511999999999:7@s.whatsapp.net"
// for one device of a user.
package message

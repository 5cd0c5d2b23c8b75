// Package msgconv converts between whatsmeow's *waE2E.Message and the
// domain types of host/message, without I/O: an Outgoing (with the upload
// of its file) becomes the protobuf message the session sends, and a
// received protobuf message becomes an Incoming with its Evolution API
// shape. One file per kind, as mautrix-whatsapp's msgconv does:
// wa-text.go, wa-media.go, wa-location.go, wa-contact.go, wa-reaction.go
// (reactions, edits and revokes) and wa-context.go (replies and mentions);
// to-whatsapp.go and from-whatsapp.go dispatch on the kind.
//
// # The JSON shape
//
// Evolution API hands apps the message as Baileys decoded it: protobufjs
// objects serialised with their toJSON, so 64-bit integers are decimal
// strings, enums their names and bytes standard base64. protojson writes
// the same, but names fields after whatsmeow's .proto files, which spell
// acronyms in capitals where Baileys' WAProto does not: "URL" is "url",
// "fileSHA256" is "fileSha256", "JPEGThumbnail" is "jpegThumbnail",
// "stanzaID" is "stanzaId", "mentionedJID" is "mentionedJid". ToJSON
// rewrites each field name that way (BaileysName), guided by the message
// descriptor, and FromJSON accepts either spelling back. messageContextInfo
// stays: Evolution's payloads carry it too.
//
// The message is stored unwrapped: ephemeral, view-once,
// document-with-caption and edit wrappers are taken off before it is
// converted, so the stored JSON names the content directly and Download
// finds the file in it.
package msgconv

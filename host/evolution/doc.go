// Package evolution serves Evolution API v2's REST routes (v2.3.6) beside
// wahost's own /v1 API, on the same services: the store, the executor,
// the session manager, the QR codes, the webhook dispatcher and the
// messaging service. An app written for Evolution API points its base URL
// at wahost and keeps its requests, its answers' field names and its
// webhook receiver.
//
// What it covers:
//
//   - /instance: create, connect, connectionState, fetchInstances,
//     restart, logout, delete, setPresence;
//   - /webhook: set and find, with Evolution's UPPER_SNAKE event names,
//     custom headers (jwt_key as a Bearer JWT), byEvents and base64;
//   - /message: sendText, sendMedia, sendWhatsAppAudio, sendSticker,
//     sendLocation, sendContact, sendReaction;
//   - /chat: whatsappNumbers, markMessageAsRead, getBase64FromMediaMessage,
//     fetchProfilePictureUrl, findMessages.
//
// Authentication is Evolution's: the apikey header carries the host's key
// (every route) or an instance's own token, returned by create as hash and
// stored as its SHA-256, which opens that instance's routes (and
// fetchInstances, listing that instance). Errors have Evolution's shape,
// {"status", "error", "response": {"message": [...]}}, with its status
// codes, including the 200 answers with {"error": true, "message"} that
// Evolution gives on connect and restart. Unknown fields in bodies are
// ignored, as Evolution clients send many.
//
// docs/evolution.md lists what differs on purpose and what is not covered.
package evolution

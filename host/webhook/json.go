package webhook

import "github.com/wahost/wahost/abi/jsonw"

// Every event is written as two to four envelopes (the stream's entry,
// each webhook's, the brokers'); encoding/json spent most of that copying
// and re-validating the event's data, already JSON, into each. The
// envelopes are written here instead, byte for byte as encode writes them
// (TestEnvelopeEncoding compares the two).

// appendJSON appends e as encode(e) would.
func (e *Envelope) appendJSON(b []byte) []byte {
	b = appendField(b, `{"event":`, e.Event)
	b = appendField(b, `,"instance":`, e.Instance)
	b = append(append(b, `,"data":`...), e.Data...)
	b = appendField(b, `,"destination":`, e.Destination)
	b = appendField(b, `,"date_time":`, e.DateTime)
	b = appendField(b, `,"sender":`, e.Sender)
	b = appendField(b, `,"server_url":`, e.ServerURL)
	if e.APIKey != "" {
		b = appendField(b, `,"apikey":`, e.APIKey)
	}
	return append(b, '}')
}

// appendJSON appends e as encode(e) would.
func (e *sinkEnvelope) appendJSON(b []byte) []byte {
	b = appendField(b, `{"event":`, e.Event)
	b = appendField(b, `,"instance":`, e.Instance)
	b = append(append(b, `,"data":`...), e.Data...)
	b = appendField(b, `,"server_url":`, e.ServerURL)
	b = appendField(b, `,"date_time":`, e.DateTime)
	b = appendField(b, `,"sender":`, e.Sender)
	if e.APIKey != "" {
		b = appendField(b, `,"apikey":`, e.APIKey)
	}
	return append(b, '}')
}

func appendField(b []byte, key, v string) []byte {
	return jsonw.AppendString(append(b, key...), v)
}

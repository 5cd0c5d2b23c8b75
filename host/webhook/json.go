package webhook

import (
	"unicode/utf8"
)

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
	return appendJSONString(append(b, key...), v)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, as encoding/json does with
// HTML escaping off: the short escapes, \u00XX for other control bytes,
// U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

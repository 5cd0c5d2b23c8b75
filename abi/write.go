package abi

import (
	"strconv"

	"github.com/wahost/wahost/abi/jsonw"
)

// appendString appends s as a JSON string, as encoding/json does; invalid
// UTF-8 becomes U+FFFD, so the output is always valid JSON.
func appendString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

// appendKey appends `"key":`, preceded by a comma unless it opens an object.
func appendKey(b []byte, key string) []byte {
	if len(b) > 0 && b[len(b)-1] != '{' && b[len(b)-1] != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

func appendIntField(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, key), v, 10)
}

func appendStringField(b []byte, key, v string) []byte {
	return appendString(appendKey(b, key), v)
}

func appendBoolField(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(appendKey(b, key), v)
}

// appendInt is strconv.AppendInt in base 10 with a single digit appended
// directly, as a document version or a step is: under WebAssembly the
// call and the copy strconv makes cost more than the digit.
func appendInt(b []byte, v int64) []byte {
	if uint64(v) < 10 {
		return append(b, byte('0'+v))
	}
	return strconv.AppendInt(b, v, 10)
}

package msgconv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxJSONBytes bounds the JSON FromJSON decodes; larger input fails
// before it is parsed.
const MaxJSONBytes = 32 << 20

// ErrEmpty is a JSON document that holds no message.
var ErrEmpty = errors.New("msgconv: empty message")

var marshalOpts = protojson.MarshalOptions{}

var unmarshalOpts = protojson.UnmarshalOptions{DiscardUnknown: true}

// ToJSON returns msg as JSON in Baileys' field names (see the package
// documentation).
func ToJSON(msg *waE2E.Message) (json.RawMessage, error) {
	if msg == nil {
		return nil, ErrEmpty
	}
	raw, err := marshalOpts.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encoding message: %w", err)
	}
	v, err := decodeGeneric(raw)
	if err != nil {
		return nil, fmt.Errorf("encoding message: %w", err)
	}
	rename(v, msg.ProtoReflect().Descriptor(), toBaileys)
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding message: %w", err)
	}
	return out, nil
}

// FromJSON decodes a message ToJSON (or Evolution API) wrote. It accepts
// Baileys' field names, protojson's and the .proto names, and ignores
// fields it does not know. The input is untrusted: it may be any bytes.
func FromJSON(data []byte) (*waE2E.Message, error) {
	if len(data) > MaxJSONBytes {
		return nil, fmt.Errorf("decoding message: %d bytes, more than %d", len(data), MaxJSONBytes)
	}
	v, err := decodeGeneric(data)
	if err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("decoding message: not a JSON object")
	}
	if len(obj) == 0 {
		return nil, ErrEmpty
	}
	msg := &waE2E.Message{}
	rename(obj, msg.ProtoReflect().Descriptor(), toProtoJSON)
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	if err := unmarshalOpts.Unmarshal(raw, msg); err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	return msg, nil
}

// decodeGeneric parses JSON keeping numbers as written.
func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// direction picks the name a field is written with.
type direction int

const (
	toBaileys direction = iota
	toProtoJSON
)

// maxDepth bounds the nesting rename follows; protojson refuses deeper
// messages anyway.
const maxDepth = 100

// rename rewrites the keys of the JSON object v, a message of type md,
// and of the messages nested in it.
func rename(v any, md protoreflect.MessageDescriptor, dir direction) {
	renameDepth(v, md, dir, 0)
}

func renameDepth(v any, md protoreflect.MessageDescriptor, dir direction, depth int) {
	obj, ok := v.(map[string]any)
	if !ok || depth > maxDepth {
		return
	}
	names := namesOf(md)
	for key, val := range obj {
		fd := names.byAny[key]
		if fd == nil {
			continue // unknown: protojson drops it on the way in
		}
		want := fd.JSONName()
		if dir == toBaileys {
			want = names.baileys[fd.Number()]
		}
		if want != key {
			delete(obj, key)
			if _, dup := obj[want]; dup && dir == toProtoJSON {
				continue // both spellings given: the canonical one wins
			}
			obj[want] = val
		}
		switch {
		case fd.IsMap():
			if vd := fd.MapValue(); vd.Kind() == protoreflect.MessageKind {
				if m, ok := val.(map[string]any); ok {
					for _, mv := range m {
						renameDepth(mv, vd.Message(), dir, depth+1)
					}
				}
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			if fd.IsList() {
				if list, ok := val.([]any); ok {
					for _, item := range list {
						renameDepth(item, fd.Message(), dir, depth+1)
					}
				}
			} else {
				renameDepth(val, fd.Message(), dir, depth+1)
			}
		}
	}
}

// fieldNames are the spellings of one message type's fields.
type fieldNames struct {
	byAny   map[string]protoreflect.FieldDescriptor // any accepted spelling → field
	baileys map[protoreflect.FieldNumber]string
}

var namesCache sync.Map // protoreflect.FullName → *fieldNames

func namesOf(md protoreflect.MessageDescriptor) *fieldNames {
	if n, ok := namesCache.Load(md.FullName()); ok {
		return n.(*fieldNames)
	}
	fields := md.Fields()
	n := &fieldNames{
		byAny:   make(map[string]protoreflect.FieldDescriptor, 3*fields.Len()),
		baileys: make(map[protoreflect.FieldNumber]string, fields.Len()),
	}
	for i := range fields.Len() {
		fd := fields.Get(i)
		b := BaileysName(fd.JSONName())
		n.baileys[fd.Number()] = b
		n.byAny[b] = fd
	}
	// The exact names win over a Baileys spelling two fields might share.
	for i := range fields.Len() {
		fd := fields.Get(i)
		n.byAny[string(fd.Name())] = fd
		n.byAny[fd.JSONName()] = fd
	}
	namesCache.Store(md.FullName(), n)
	return n
}

// BaileysName spells a protojson field name as Baileys' WAProto does:
// acronyms in capitals become a capital and lower case letters ("SHA" →
// "Sha"), all lower case at the start of the name ("URL" → "url",
// "JPEGThumbnail" → "jpegThumbnail").
func BaileysName(name string) string {
	r := []rune(name)
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(r); {
		if !unicode.IsUpper(r[i]) {
			b.WriteRune(r[i])
			i++
			continue
		}
		j := i
		for j < len(r) && unicode.IsUpper(r[j]) {
			j++
		}
		end := j // the acronym is r[i:end]
		if j < len(r) && unicode.IsLower(r[j]) && j-i > 1 {
			end = j - 1 // its last capital starts the next word
		}
		for k := i; k < end; k++ {
			if k == i && i > 0 {
				b.WriteRune(r[k])
			} else {
				b.WriteRune(unicode.ToLower(r[k]))
			}
		}
		if end < j {
			b.WriteRune(r[end]) // never the first letter: end > i
		}
		i = j
	}
	return b.String()
}

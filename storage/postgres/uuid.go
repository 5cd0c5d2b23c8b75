package postgres

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// wahost passes its ids to PostgreSQL as strings. pgx has no binary
// encoding of a string as a uuid: for every such parameter it tried one,
// built the error, then sent the text format. In a storm, or a unit of
// work per webhook, that was a tenth of the store's CPU. uuidCodec encodes
// a well-formed string in the binary format; any other still fails there,
// so pgx sends it as text and the server reports it as before.

// registerUUID replaces the connection's uuid and uuid[] types with ones
// that encode strings in the binary format.
func registerUUID(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	u := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(u)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: u}})
	return nil
}

type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(string); ok && format == pgtype.BinaryFormatCode {
		return encodeStringUUID{}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

type encodeStringUUID struct{}

var errNotUUID = errors.New("not a uuid in its canonical form")

// Encode appends the 16 bytes of a uuid in the canonical form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in either case.
func (encodeStringUUID) Encode(value any, buf []byte) ([]byte, error) {
	s := value.(string)
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, errNotUUID
	}
	var b [16]byte
	j := 0
	for _, part := range [...]string{s[0:8], s[9:13], s[14:18], s[19:23], s[24:36]} {
		n, err := hex.Decode(b[j:], []byte(part))
		if err != nil {
			return nil, errNotUUID
		}
		j += n
	}
	return append(buf, b[:]...), nil
}

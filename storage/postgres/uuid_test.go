package postgres

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

func TestEncodeStringUUID(t *testing.T) {
	m := pgtype.NewMap()
	for _, s := range []string{"6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8"} {
		got, err := encodeStringUUID{}.Encode(s, nil)
		var want pgtype.UUID
		if scanErr := m.Scan(pgtype.UUIDOID, pgtype.TextFormatCode, []byte(s), &want); err != nil || scanErr != nil || !bytes.Equal(got, want.Bytes[:]) {
			t.Errorf("Encode(%q) = %x, %v; want %x (%v)", s, got, err, want.Bytes, scanErr)
		}
	}
	for _, s := range []string{"", "x", "6ba7b810-9dad-11d1-80b4-00c04fd430c", "6ba7b810x9dad-11d1-80b4-00c04fd430c8",
		"6ba7b810-9dad-11d1-80b4-00c04fd430cg", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}"} {
		if _, err := (encodeStringUUID{}).Encode(s, nil); err == nil {
			t.Errorf("Encode(%q) succeeded", s)
		}
	}
}

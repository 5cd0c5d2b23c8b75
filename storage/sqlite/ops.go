package sqlite

import (
	"database/sql"
	"strings"
	"time"

	"github.com/wahost/wahost/storage"
)

// ops implements storage.Tx: outside a unit of work writes go to the
// writer connection and reads to the read-only pool; inside one both go to
// the transaction.
type ops struct {
	w, r querier
	now  func() time.Time
	// hook is told about outbox rows: by wrote's commit inside a unit of
	// work (wrote set), at once outside one.
	hook  *storage.OutboxHook
	wrote *bool
}

var _ storage.Tx = ops{}

// stamp returns the current time in stored form.
func (o ops) stamp() int64 { return micros(o.now()) }

// micros converts a time to stored form: microseconds since the epoch.
func micros(t time.Time) int64 { return storage.Timestamp(t).UnixMicro() }

// fromMicros converts stored microseconds back to UTC.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros converts a nullable stored time.
func nullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// microsArg passes a nil time as SQL NULL.
func microsArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// jsonArg passes an empty document as SQL NULL and any other verbatim.
func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// jsonOut returns stored JSON, nil for NULL.
func jsonOut(v sql.NullString) []byte {
	if !v.Valid || v.String == "" {
		return nil
	}
	return []byte(v.String)
}

// clampLimit applies storage.DefaultPage and storage.MaxPage.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return storage.DefaultPage
	case n > storage.MaxPage:
		return storage.MaxPage
	}
	return n
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

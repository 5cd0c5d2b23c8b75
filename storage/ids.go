package storage

import "github.com/google/uuid"

// NewID returns a new identifier for an instance or an outbox event: a
// time-ordered UUID (version 7) in canonical lower-case form, so new rows
// land at the end of their primary-key index.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does, which
		// crypto/rand reports by crashing the program anyway.
		panic("storage: generate id: " + err.Error())
	}
	return id.String()
}

// ValidateID checks that id is a UUID in canonical lower-case form, as
// NewID returns and stores give back.
func ValidateID(field, id string) error {
	if id == "" {
		return &InputError{Field: field, Reason: "empty"}
	}
	if len(id) != 36 {
		return &InputError{Field: field, Reason: "not a UUID"}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return &InputError{Field: field, Reason: "not a UUID"}
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return &InputError{Field: field, Reason: "not a lower-case UUID"}
			}
		}
	}
	return nil
}

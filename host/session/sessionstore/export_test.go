package sessionstore

import "database/sql"

// DB exposes the store's handle to tests.
func DB(s *Store) *sql.DB { return s.db }

// Dialect exposes the store's dialect to tests.
func Dialect(s *Store) string { return s.dialect }

package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Internals for the package's external tests.
var CopyOutbox = copyOutbox

const CopyMin = copyMin

func (s *Store) Pool() *pgxpool.Pool { return s.pool }

var CopyDisconnects = copyDisconnects

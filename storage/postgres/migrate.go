package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"

	"github.com/wahost/wahost/storage/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are parsed once; a malformed embedded file is a build defect
// that every test catches.
var migrations, migrationsErr = migrate.Load(migrationFS, "migrations")

const createVersionTable = `CREATE TABLE IF NOT EXISTS wahost_schema_migrations (
	version    integer     PRIMARY KEY,
	name       text        NOT NULL,
	sum        text        NOT NULL,
	applied_at timestamptz NOT NULL
)`

// LockKey returns the advisory lock key that serialises schema changes in
// schema ("" for the connection's default schema) across hosts.
func LockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("wahost.migrate/" + schema))
	return int64(h.Sum64())
}

// migrate applies the pending migrations in one transaction under a
// transaction-level advisory lock: a second host starting at the same time
// waits, then finds nothing left to do. PostgreSQL's DDL is transactional,
// so a failed migration leaves the schema as it was.
func (s *Store) migrate(ctx context.Context, schema string) error {
	if migrationsErr != nil {
		return fmt.Errorf("postgres: %w", migrationsErr)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrapErr("migrate", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", LockKey(schema)); err != nil {
		return wrapErr("migrate: lock", err)
	}
	if schema != "" {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return wrapErr("migrate: create schema", err)
		}
	}
	if _, err := tx.Exec(ctx, createVersionTable); err != nil {
		return wrapErr("migrate: version table", err)
	}
	rows, err := tx.Query(ctx, "SELECT version, sum FROM wahost_schema_migrations ORDER BY version")
	if err != nil {
		return wrapErr("migrate: read versions", err)
	}
	applied, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (migrate.Applied, error) {
		var a migrate.Applied
		err := r.Scan(&a.Version, &a.Sum)
		return a, err
	})
	if err != nil {
		return wrapErr("migrate: read versions", err)
	}
	pending, err := migrate.Pending(migrations, applied)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, m := range pending {
		// No arguments: pgx sends the file with the simple protocol, which
		// runs several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return wrapErr(fmt.Sprintf("migrate: apply %04d_%s", m.Version, m.Name), err)
		}
		if _, err := tx.Exec(ctx,
			"INSERT INTO wahost_schema_migrations (version, name, sum, applied_at) VALUES ($1, $2, $3, $4)",
			m.Version, m.Name, m.Sum, s.stamp()); err != nil {
			return wrapErr("migrate: record version", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrapErr("migrate: commit", err)
	}
	return nil
}

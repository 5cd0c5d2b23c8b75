package sqlite

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/wahost/wahost/storage/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are parsed once; a malformed embedded file is a build defect
// that every test catches.
var migrations, migrationsErr = migrate.Load(migrationFS, "migrations")

const createVersionTable = `CREATE TABLE IF NOT EXISTS wahost_schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	sum        TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
) STRICT`

// migrate applies the pending migrations in one IMMEDIATE transaction: it
// holds the database's write lock, so a second process opening the file at
// the same time waits, then finds nothing left to do. SQLite's DDL is
// transactional, so a failed migration leaves the schema as it was.
func (s *Store) migrate(ctx context.Context, now func() time.Time) error {
	if migrationsErr != nil {
		return fmt.Errorf("sqlite: %w", migrationsErr)
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return wrapErr("migrate", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, createVersionTable); err != nil {
		return wrapErr("migrate: version table", err)
	}
	rows, err := tx.QueryContext(ctx, "SELECT version, sum FROM wahost_schema_migrations ORDER BY version")
	if err != nil {
		return wrapErr("migrate: read versions", err)
	}
	var applied []migrate.Applied
	for rows.Next() {
		var a migrate.Applied
		if err := rows.Scan(&a.Version, &a.Sum); err != nil {
			_ = rows.Close()
			return wrapErr("migrate: read versions", err)
		}
		applied = append(applied, a)
	}
	if err := rows.Close(); err != nil {
		return wrapErr("migrate: read versions", err)
	}
	pending, err := migrate.Pending(migrations, applied)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, m := range pending {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return wrapErr(fmt.Sprintf("migrate: apply %04d_%s", m.Version, m.Name), err)
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO wahost_schema_migrations (version, name, sum, applied_at) VALUES (?, ?, ?, ?)",
			m.Version, m.Name, m.Sum, micros(now())); err != nil {
			return wrapErr("migrate: record version", err)
		}
	}
	return wrapErr("migrate: commit", tx.Commit())
}

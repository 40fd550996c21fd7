package tenancy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
)

var sslModeParam = regexp.MustCompile(`sslmode=([a-z-]+)`)

// sslMode is the sslmode the server was configured with, for the
// PostgreSQL tools (pgx has already turned it into a TLS config).
func sslMode(raw string, cfg *pgx.ConnConfig) string {
	if m := sslModeParam.FindStringSubmatch(raw); m != nil {
		return m[1]
	}
	if cfg.TLSConfig == nil {
		return "disable"
	}
	return "prefer"
}

// toolEnv is the environment pg_dump or pg_restore connects with: the
// password goes in PGPASSWORD, never on a command line others can read.
func (b *postgresBackend) toolEnv(ref, database string) ([]string, error) {
	cfg, err := b.config(ref, database)
	if err != nil {
		return nil, err
	}
	return []string{
		"PGHOST=" + cfg.Host, "PGPORT=" + strconv.Itoa(int(cfg.Port)), "PGUSER=" + cfg.User,
		"PGPASSWORD=" + cfg.Password, "PGDATABASE=" + database, "PGSSLMODE=" + b.sslmode[ref],
		"PGAPPNAME=" + b.appName, "PGCONNECT_TIMEOUT=10",
	}, nil
}

// copyDatabase copies a database from one server to an empty one of the
// same name on another: pg_dump piped into pg_restore, in one transaction
// on the target so a failed copy leaves nothing half-restored in it.
func (b *postgresBackend) copyDatabase(ctx context.Context, fromRef, fromDB, toRef, toDB string) error {
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			return steeple.Errorf(steeple.EUNAVAILABLE, "moving a church needs %s (PostgreSQL client tools) on this machine's PATH", tool)
		}
	}
	srcEnv, err := b.toolEnv(fromRef, fromDB)
	if err != nil {
		return err
	}
	dstEnv, err := b.toolEnv(toRef, toDB)
	if err != nil {
		return err
	}
	// Uncompressed: the dump goes through a pipe on one machine, and
	// compressing it would only lengthen the pause.
	dump := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--compress=0", "--no-owner", "--no-privileges")
	dump.Env = srcEnv
	restore := exec.CommandContext(ctx, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
		"--single-transaction", "--dbname="+toDB)
	restore.Env = dstEnv
	pipe, err := dump.StdoutPipe()
	if err != nil {
		return err
	}
	restore.Stdin = pipe
	var dumpErr, restoreErr bytes.Buffer
	dump.Stderr, restore.Stderr = &dumpErr, &restoreErr
	if err := restore.Start(); err != nil {
		return fmt.Errorf("pg_restore: %w", err)
	}
	if err := dump.Start(); err != nil {
		_ = restore.Process.Kill()
		_ = restore.Wait()
		return fmt.Errorf("pg_dump: %w", err)
	}
	derr := dump.Wait()
	rerr := restore.Wait()
	if derr != nil {
		return fmt.Errorf("pg_dump from %s: %w: %s", fromRef, derr, firstLine(dumpErr.String()))
	}
	if rerr != nil {
		return fmt.Errorf("pg_restore into %s: %w: %s", toRef, rerr, firstLine(restoreErr.String()))
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// TableCount is one table's rows in the old and the new copy.
type TableCount struct {
	Table string `json:"table"`
	From  int64  `json:"from"`
	To    int64  `json:"to"`
}

// countRows counts every table's rows in a database.
func (b *postgresBackend) countRows(ctx context.Context, ref, database string) (map[string]int64, error) {
	cfg, err := b.config(ref, database)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database server %s: %w", ref, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(tables))
	for _, tb := range tables {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM `+tb).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting %s: %w", tb, err)
		}
		out[tb] = n
	}
	return out, nil
}

// compareCounts counts both copies at once and lists every table; it
// fails naming the tables whose counts differ (or that one copy lacks).
func (b *postgresBackend) compareCounts(ctx context.Context, m *TenantMove) ([]TableCount, error) {
	var from, to map[string]int64
	var ferr, terr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); from, ferr = b.countRows(ctx, m.FromServer, m.FromDatabase) }()
	go func() { defer wg.Done(); to, terr = b.countRows(ctx, m.ToServer, m.ToDatabase) }()
	wg.Wait()
	if err := errors.Join(ferr, terr); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for k := range from {
		names[k] = true
	}
	for k := range to {
		names[k] = true
	}
	var out []TableCount
	var bad []string
	for k := range names {
		f, fok := from[k]
		t, tok := to[k]
		if !fok || !tok || f != t {
			bad = append(bad, fmt.Sprintf("%s (%d here, %d there)", k, f, t))
		}
		out = append(out, TableCount{Table: k, From: f, To: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	if len(bad) > 0 {
		sort.Strings(bad)
		return out, fmt.Errorf("row counts differ after the copy: %s", strings.Join(bad, ", "))
	}
	return out, nil
}


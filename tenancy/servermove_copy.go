package tenancy

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

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

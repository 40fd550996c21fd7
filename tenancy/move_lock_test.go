//go:build unix

package tenancy

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

const holdEnv = "STEEPLE_TEST_HOLD_SQLITE"

// A SQLite database another process has open is seen (with that process's
// id), and no longer once it closed it: the move refuses a registry that a
// running `steeple serve` still uses.
func TestSQLiteHolder(t *testing.T) {
	if path := os.Getenv(holdEnv); path != "" {
		holdSQLite(path)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := sql.Open("sqlite", SQLiteDSN(path, "rwc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE x (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if pid, err := sqliteHolder(path); err != nil || pid != 0 {
		t.Fatalf("closed database: holder %d, %v", pid, err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteHolder$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "open\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	pid, err := sqliteHolder(path)
	if err != nil || pid != cmd.Process.Pid {
		t.Errorf("database open in process %d: holder %d, %v", cmd.Process.Pid, pid, err)
	}
	if _, err := openSourceRegistry(context.Background(), filepath.Dir(path)); err == nil {
		t.Error("a registry open in another process was not refused")
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if pid, err := sqliteHolder(path); err != nil || pid != 0 {
		t.Fatalf("after the other process ended: holder %d, %v", pid, err)
	}
}

// holdSQLite opens the database, says so, and keeps it open until stdin closes.
func holdSQLite(path string) {
	db, err := sql.Open("sqlite", SQLiteDSN(path, "rw"))
	if err != nil {
		os.Exit(3)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM x`).Scan(&n); err != nil {
		os.Exit(4)
	}
	os.Stdout.WriteString("open\n")
	_, _ = io.Copy(io.Discard, os.Stdin)
	db.Close()
}

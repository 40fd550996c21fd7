package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// pgDB is one PostgreSQL database as the command-line tools reach it: a URL
// without its password, which goes to the tool in PGPASSWORD so that it
// never appears in a process list.
type pgDB struct {
	url, password, name string
}

// pgDatabase points the server URL base at another database.
func pgDatabase(base, database string) (pgDB, error) {
	u, err := url.Parse(base)
	if err != nil {
		return pgDB{}, steeple.Errorf(steeple.EINVALID, "a PostgreSQL URL does not parse")
	}
	pw, _ := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	if database != "" {
		u.Path = "/" + database
	}
	return pgDB{url: u.String(), password: pw, name: strings.TrimPrefix(u.Path, "/")}, nil
}

// connURL is the full URL, password included, for this process's own connections.
func (d pgDB) connURL() string {
	if d.password == "" {
		return d.url
	}
	u, _ := url.Parse(d.url)
	u.User = url.UserPassword(u.User.Username(), d.password)
	return u.String()
}

// runTool runs pg_dump or pg_restore against d, returning its error output
// in the error.
func runTool(ctx context.Context, d pgDB, tool string, args ...string) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return steeple.Errorf(steeple.EUNAVAILABLE, "%s is not on PATH: install the PostgreSQL client tools (version %s or newer, as the servers)", tool, "15")
	}
	if d.url != "" {
		args = append(args, "--dbname="+d.url)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = os.Environ()
	if d.password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+d.password)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return fmt.Errorf("%s (%s): %w: %s", tool, d.name, err, msg)
	}
	return nil
}

// serverURLs maps each configured tenant server's reference (host:port, as
// the registry records it) to its URL.
func serverURLs(urls []string) (map[string]string, error) {
	out := map[string]string{}
	for _, u := range urls {
		ref, err := tenancy.ServerRef(u)
		if err != nil {
			return nil, err
		}
		out[ref] = u
	}
	return out, nil
}

// churchDB is the database of a church on its server.
func churchDB(servers map[string]string, ref, database string) (pgDB, error) {
	base, ok := servers[ref]
	if !ok {
		return pgDB{}, steeple.Errorf(steeple.EINVALID,
			"database server %s is not in STEEPLE_TENANT_SERVERS: configure a server at that host:port", ref)
	}
	return pgDatabase(base, database)
}

// pgAdmin runs fn on a connection to the server's maintenance database
// ("postgres"), from which databases are created and dropped.
func pgAdmin(ctx context.Context, serverURL string, fn func(*pgx.Conn) error) error {
	d, err := pgDatabase(serverURL, "postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, d.connURL())
	if err != nil {
		return fmt.Errorf("database server %s: %w", d.name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return fn(conn)
}

func pgDatabaseExists(ctx context.Context, c *pgx.Conn, name string) (bool, error) {
	var n int
	err := c.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	return n > 0, err
}

func pgCreateDatabase(ctx context.Context, c *pgx.Conn, name string) error {
	_, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created by a run that died: kept
		return nil
	}
	return err
}

func pgDropDatabase(ctx context.Context, c *pgx.Conn, name string) error {
	_, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

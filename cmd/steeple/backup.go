package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple/backup"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runBackup is `steeple backup --out DIR` and `steeple backup verify --from DIR`.
func runBackup(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) > 0 && args[0] == "verify" {
		return runBackupVerify(ctx, args[1:], out, errOut)
	}
	fs, cfg, err := newFlags("backup", errOut)
	if err != nil {
		return err
	}
	dir := fs.String("out", "", "directory to write the backup to (new or empty; made mode 0700)")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	parallel := fs.Int("parallel", 4, "church databases copied at once")
	if err := parseNoArgs(fs, cfg, args); err != nil {
		return err
	}
	if *parallel < 1 {
		return usageError{"--parallel must be at least 1"}
	}
	if *dir == "" {
		return usageError{"backup needs --out DIR (or `steeple backup verify --from DIR`)"}
	}
	fmt.Fprintln(errOut, "steeple backup: "+backup.KeysWarning)
	m, err := backup.Take(ctx, *dir, backupOptions(cfg, *parallel, errOut))
	if err != nil {
		var inc *backup.IncompleteError
		if errors.As(err, &inc) {
			return fmt.Errorf("backup failed: %s (%s holds an unfinished backup, without a manifest: delete it)", describeErr(inc.Err), inc.Dir)
		}
		return fmt.Errorf("backup failed: %s", describeErr(err))
	}
	if *asJSON {
		return printJSON(out, struct {
			*backup.Manifest
			KeysFile string `json:"keys_file"`
		}{m, "NOT INCLUDED: back it up separately"})
	}
	fmt.Fprintf(out, "backup %s written to %s: registry (schema %d) and %d churches, %d bytes, in %s\n",
		m.ID, *dir, m.Registry.SchemaVersion, len(m.Churches), m.Bytes, m.FinishedAt.Sub(m.StartedAt).Round(1e6))
	for _, s := range m.Skipped {
		fmt.Fprintf(out, "not copied: church %s (%s): %s\n", s.ID, s.Status, s.Reason)
	}
	fmt.Fprintln(out, "REMEMBER: the keys file is not in the backup; without it the data cannot be read.")
	return nil
}

func runBackupVerify(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("backup verify", errOut)
	if err != nil {
		return err
	}
	dir := fs.String("from", "", "the backup directory to check")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, cfg, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"backup verify needs --from DIR"}
	}
	return verifyBackup(ctx, *dir, *asJSON, out, errOut)
}

func verifyBackup(ctx context.Context, dir string, asJSON bool, out, errOut io.Writer) error {
	rep, err := backup.Verify(ctx, dir, func(done, total int) {
		if done%100 == 0 {
			fmt.Fprintf(errOut, "verify: %d/%d files\n", done, total)
		}
	})
	if err != nil {
		return fmt.Errorf("%s", describeErr(err))
	}
	if asJSON {
		if err := printJSON(out, rep); err != nil {
			return err
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintln(out, "PROBLEM", p)
		}
		verdict := "complete and restorable"
		if len(rep.Problems) > 0 {
			verdict = fmt.Sprintf("NOT restorable: %d problems", len(rep.Problems))
		}
		fmt.Fprintf(out, "backup %s (%s, %d churches, %d bytes): %s\n", rep.BackupID, rep.Backend, rep.Churches, rep.Bytes, verdict)
	}
	if len(rep.Problems) > 0 {
		return exitStatus(1)
	}
	return nil
}

// runRestore is `steeple restore --from DIR`.
func runRestore(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("restore", errOut)
	if err != nil {
		return err
	}
	dir := fs.String("from", "", "the backup directory to restore")
	check := fs.Bool("check", false, "only check the backup (as `steeple backup verify`); restore nothing")
	asJSON := fs.Bool("json", false, "print JSON")
	parallel := fs.Int("parallel", 4, "church databases restored at once")
	if err := parseNoArgs(fs, cfg, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"restore needs --from DIR"}
	}
	if *parallel < 1 {
		return usageError{"--parallel must be at least 1"}
	}
	if *check {
		return verifyBackup(ctx, *dir, *asJSON, out, errOut)
	}
	fmt.Fprintln(errOut, "steeple restore: the restored data is readable only with the keys file of the deployment it came from (STEEPLE_KEYS_FILE; on SQLite DATA_DIR/keys.json).")
	rep, err := backup.Restore(ctx, *dir, backupOptions(cfg, *parallel, errOut))
	if err != nil {
		return fmt.Errorf("restore failed: %s", describeErr(err))
	}
	if *asJSON {
		return printJSON(out, rep)
	}
	how := "restored"
	if rep.Resumed {
		how = "restore resumed and finished"
	}
	fmt.Fprintf(out, "backup %s %s: registry and %d churches (%d by this run) into %s\n", rep.BackupID, how, rep.Churches, rep.Restored, registryWhere(cfg))
	if n := len(rep.Redispatch); n > 0 {
		fmt.Fprintf(out, "%d unfinished sends handed to the recovery sweep; they go out within minutes of `steeple serve`\n", n)
	}
	for _, id := range rep.Skipped {
		fmt.Fprintf(out, "church %s was being deleted during the backup: it is marked deleting\n", id)
	}
	return nil
}

func backupOptions(cfg *config.Config, parallel int, errOut io.Writer) backup.Options {
	o := tenancy.OptionsFromConfig(cfg, store.Schema())
	o.Logger = newLogger(cfg, errOut)
	return backup.Options{Tenancy: o, Version: readVersion().Version, Progress: errOut, Parallel: parallel}
}

// parseNoArgs parses flags and refuses positional arguments.
func parseNoArgs(fs *flag.FlagSet, cfg *config.Config, args []string) error {
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments, got %q", fs.Name(), fs.Args())}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

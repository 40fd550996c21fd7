package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/secret"
)

const keysUsage = `Usage: steeple keys SUBCOMMAND [flags]

  generate           print a new keys file (encryption, blind-index and token-signing keys)
  rotate             make a new data key current, then re-encrypt every sealed value with it
  rotate --resume    finish the re-encryption an interrupted rotate left (no new key)
  rotate --signing   make a new token-signing key; tokens signed with the old one stay
                     valid until it is retired
  rotate --blind-index
                     make a new blind-index key (lookups accept the old one meanwhile),
                     then recompute every phone and email index and login entry with it
  rotate --blind-index --resume
                     finish the recompute an interrupted rotate left (no new key)
  status             which data key seals how many values, the signing keys kept, and
                     the index values not yet on the current blind-index key
  retire ID          remove data key ID from the keys file once nothing uses it
  retire --signing   remove the previous token-signing key once its tokens have expired
  retire --blind-index
                     remove the previous blind-index key once no index uses it

The keys file is STEEPLE_KEYS_FILE, or on the embedded default keys.json in the data
directory. Running processes read it again within 10 s of a change, so rotate while
serving; every process must see the same file. See docs/operations.md, "Keys".
`

func runKeys(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(errOut, keysUsage)
		return exitStatus(2)
	}
	switch args[0] {
	case "generate":
		if len(args) > 1 {
			fmt.Fprint(errOut, "Usage: steeple keys generate > keys.json\n\nprints a new keys file (encryption, blind-index and token-signing keys)\n")
			return helpOrUsage(args[1:])
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(secret.Generate())
	case "rotate":
		return runKeysRotate(ctx, args[1:], out, errOut)
	case "status":
		return runKeysStatus(ctx, args[1:], out, errOut)
	case "retire":
		return runKeysRetire(ctx, args[1:], out, errOut)
	case "-h", "--help":
		fmt.Fprint(errOut, keysUsage)
		return nil
	}
	fmt.Fprint(errOut, keysUsage)
	return exitStatus(2)
}

// rotation is what `keys rotate` did, as printed with --json.
type rotation struct {
	What      string          `json:"what"` // "data", "signing" or "blind-index"
	ActiveKey byte            `json:"active_key,omitempty"`
	Churches  []churchReseal  `json:"churches,omitempty"`
	Rewritten int             `json:"values_rewritten"`
	Seconds   float64         `json:"seconds"`
	PerSecond float64         `json:"values_per_second,omitempty"`
	Failed    int             `json:"churches_failed"`
	Signing   *signingKeyNote `json:"signing,omitempty"`
}

// helpOrUsage is nil when args ask for help, else a usage error's status.
func helpOrUsage(args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		return nil
	}
	return exitStatus(2)
}

// finish fills in the pass's totals from its churches.
func (r *rotation) finish(start time.Time) {
	r.Seconds = time.Since(start).Seconds()
	for _, c := range r.Churches {
		r.Rewritten += c.Rewritten
		if c.Error != "" {
			r.Failed++
		}
	}
	if r.Seconds > 0 {
		r.PerSecond = float64(r.Rewritten) / r.Seconds
	}
}

func runKeysRotate(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("keys rotate", errOut)
	if err != nil {
		return err
	}
	signing := fs.Bool("signing", false, "rotate the token-signing key instead of the data key")
	blindIndex := fs.Bool("blind-index", false, "rotate the blind-index key instead of the data key, and recompute every index")
	resume := fs.Bool("resume", false, "only re-encrypt or recompute (finish an interrupted rotation); no new key")
	wait := fs.Duration("wait", secret.FollowedWithin+time.Second,
		"with --blind-index: how long running processes get to read the new key before indexes are recomputed")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	if *signing && (*blindIndex || *resume) {
		return usageError{"keys rotate: --signing goes alone"}
	}
	path := app.KeysPath(*cfg)
	if *blindIndex {
		e, err := openReady(ctx, cfg, errOut)
		if err != nil {
			return err
		}
		defer e.close()
		r, err := rotateBlindIndex(ctx, e, path, *resume, *wait, errOut)
		if err != nil {
			return err
		}
		return printPass(out, r, *asJSON)
	}
	f, _, err := secret.ReadFile(path)
	if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	if *signing {
		if f, err = secret.RotateSigning(f, time.Now()); err != nil {
			return err
		}
		if err := secret.WriteFile(path, f); err != nil {
			return fmt.Errorf("keys file %s: %w", path, err)
		}
		r := rotation{What: "signing", Signing: signingNote(f)}
		return printRotation(out, r, *asJSON)
	}
	if !*resume {
		if f, _, err = secret.RotateEncryption(f); err != nil {
			return err
		}
		if err := secret.WriteFile(path, f); err != nil {
			return fmt.Errorf("keys file %s: %w", path, err)
		}
	}
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return err
	}
	defer e.close()
	keys, err := secret.Load(path)
	if err != nil {
		return err
	}
	r := rotation{What: "data", ActiveKey: keys.ActiveKeyID()}
	fmt.Fprintf(errOut, "data key %d is current; re-encrypting every church's sealed values with it\n", r.ActiveKey)
	start := time.Now()
	r.Churches, err = resealAll(ctx, e, keys, errOut)
	if err != nil {
		return err
	}
	r.finish(start)
	return printPass(out, r, *asJSON)
}

// printPass prints a pass over the churches; some failed, it exits 1.
func printPass(out io.Writer, r rotation, asJSON bool) error {
	if err := printRotation(out, r, asJSON); err != nil {
		return err
	}
	if r.Failed > 0 {
		return exitStatus(1)
	}
	return nil
}

func printRotation(out io.Writer, r rotation, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(out).Encode(r)
	}
	if r.What == "signing" {
		fmt.Fprintf(out, "new token-signing key written; tokens signed with the previous one are accepted until `steeple keys retire --signing` (possible from %s)\n",
			r.Signing.RetirableAt.Format(time.RFC3339))
		return nil
	}
	for _, c := range r.Churches {
		if c.Error != "" {
			fmt.Fprintf(out, "FAILED  %s  %q: %s\n", c.ID, c.Name, c.Error)
		}
	}
	resume := "steeple keys rotate --resume"
	if r.What == "blind-index" {
		resume = "steeple keys rotate --blind-index --resume"
		fmt.Fprintf(out, "blind-index key: %d index values and login entries recomputed in %d churches (%.1fs, %.0f values/s), %d failed",
			r.Rewritten, len(r.Churches), r.Seconds, r.PerSecond, r.Failed)
	} else {
		fmt.Fprintf(out, "data key %d: %d values re-encrypted in %d churches (%.1fs, %.0f values/s), %d failed",
			r.ActiveKey, r.Rewritten, len(r.Churches), r.Seconds, r.PerSecond, r.Failed)
	}
	if r.Failed > 0 {
		fmt.Fprintf(out, "; run `%s` once they are reachable", resume)
	}
	fmt.Fprintln(out)
	return nil
}

// signingKeyNote says whether a previous signing key is kept, and from
// when it may be retired.
type signingKeyNote struct {
	PreviousKept bool       `json:"previous_kept"`
	RotatedAt    *time.Time `json:"rotated_at,omitempty"`
	RetirableAt  *time.Time `json:"retirable_at,omitempty"`
}

func signingNote(f secret.File) *signingKeyNote {
	n := &signingKeyNote{PreviousKept: f.PreviousTokenSigningKey != "", RotatedAt: f.SigningRotatedAt}
	if f.SigningRotatedAt != nil {
		at := f.SigningRotatedAt.Add(auth.LongestSignedTokenLife)
		n.RetirableAt = &at
	}
	return n
}

func runKeysRetire(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("keys retire", errOut)
	if err != nil {
		return err
	}
	signing := fs.Bool("signing", false, "retire the previous token-signing key (else give the data key's ID: keys retire ID)")
	blindIndex := fs.Bool("blind-index", false, "retire the previous blind-index key once no index uses it")
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	path := app.KeysPath(*cfg)
	f, _, err := secret.ReadFile(path)
	if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	if *blindIndex {
		return retireBlindIndex(ctx, cfg, path, f, out, errOut)
	}
	if *signing {
		if f, err = secret.RetireSigning(f, time.Now(), auth.LongestSignedTokenLife); err != nil {
			return err
		}
		if err := secret.WriteFile(path, f); err != nil {
			return err
		}
		fmt.Fprintln(out, "previous token-signing key removed")
		return nil
	}
	if fs.NArg() != 1 {
		return usageError{"keys retire: give the id of the data key to retire (see `steeple keys status`), or --signing"}
	}
	id, err := strconv.ParseUint(fs.Arg(0), 10, 8)
	if err != nil {
		return usageError{"keys retire: the key id is a number from 1 to 255"}
	}
	st, err := countKeysInUse(ctx, cfg, errOut, f)
	if err != nil {
		return err
	}
	if why := st.blocksRetiring(byte(id)); why != "" {
		return fmt.Errorf("key %d is not retired: %s", id, why)
	}
	if f, err = secret.RetireEncryption(f, byte(id)); err != nil {
		return err
	}
	if err := secret.WriteFile(path, f); err != nil {
		return err
	}
	fmt.Fprintf(out, "data key %d removed from %s (nothing is sealed with it)\n", id, path)
	return nil
}

func runKeysStatus(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs, cfg, err := newFlags("keys status", errOut)
	if err != nil {
		return err
	}
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, cfg, args); err != nil {
		return err
	}
	f, _, err := secret.ReadFile(app.KeysPath(*cfg))
	if err != nil {
		return fmt.Errorf("keys file: %w", err)
	}
	st, err := countKeysInUse(ctx, cfg, errOut, f)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(out).Encode(st)
	}
	printKeysStatus(out, st)
	return nil
}

// countKeysInUse opens the deployment and counts what each key of f seals
// (see keysInUse).
func countKeysInUse(ctx context.Context, cfg *config.Config, errOut io.Writer, f secret.File) (*keysStatus, error) {
	e, err := openReady(ctx, cfg, errOut)
	if err != nil {
		return nil, err
	}
	defer e.close()
	keys, err := secret.Load(app.KeysPath(*cfg))
	if err != nil {
		return nil, err
	}
	return keysInUse(ctx, e, keys, f)
}

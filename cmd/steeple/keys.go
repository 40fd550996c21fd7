package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/steeple-sms/steeple/secret"
)

const keysUsage = `Usage: steeple keys generate > keys.json

  generate   print a new keys file (encryption, blind-index and token-signing keys)

Point STEEPLE_KEYS_FILE at it (mode 0600). On the embedded default the file is
generated in the data directory on first run. Rotation is not built yet: the
file format keeps several encryption keys with ids so that it can be.
`

func runKeys(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) != 1 || args[0] != "generate" {
		fmt.Fprint(errOut, keysUsage)
		if len(args) > 0 && (args[len(args)-1] == "-h" || args[len(args)-1] == "--help") {
			return nil
		}
		return exitStatus(2)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(secret.Generate())
}

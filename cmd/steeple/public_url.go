package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steeple-sms/steeple/httpapi"
)

// checkPublicURL asks the public URL for /healthz and warns, in one line,
// when the answer does not come from this process (its instance id): links
// in mail and the provider's webhooks would go elsewhere, and texts would
// stay "sent" for ever. It returns when the check is done.
func checkPublicURL(ctx context.Context, log *slog.Logger, publicURL, instance string) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	target := strings.TrimRight(publicURL, "/") + "/healthz"
	shown := publicURL
	if u, err := url.Parse(publicURL); err == nil {
		shown = u.Redacted()
	}
	problem := ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			switch got := resp.Header.Get(httpapi.InstanceHeader); {
			case got == instance:
				log.Debug("the public URL reaches this server", "public_url", shown)
				return
			case got != "":
				problem = "another Steeple process answered"
			default:
				problem = fmt.Sprintf("something other than Steeple answered (HTTP %d)", resp.StatusCode)
			}
		}
	}
	if err != nil {
		if parent.Err() != nil {
			return // shutting down
		}
		problem = "unreachable: " + err.Error()
	}
	log.Warn("STEEPLE_PUBLIC_URL does not reach this server: links in mail and the provider's webhooks (delivery receipts, replies) would go elsewhere",
		"public_url", shown, "problem", problem, "hint", "set STEEPLE_PUBLIC_URL to the address people and Telnyx use to reach this server")
}

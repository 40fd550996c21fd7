package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// audienceCount is the number of people the compose fragment says will get
// the text.
var audienceCount = regexp.MustCompile(`id="aud-recipients">([0-9,]+)`)

// measureComposePreview measures compose_preview_p95_ms: the compose
// page's audience count for every member of the church (POST /messages/new
// op=audience as htmx sends it when the audience changes), the one compose
// request that reads the church's data. The texts alternate between a plain
// one and one with a first name and an accent, so renderings are not all
// alike.
func measureComposePreview(ctx context.Context, r *runner, c *webClient, requests int, extra []kv) error {
	texts := []string{"Hi {first_name}, service is at 10 on Sunday. Bring a friend!",
		"Reunión mañana a las 7, {first_name}: traiga un plato para compartir."}
	var samples []float64
	recipients := 0
	for i := range requests {
		form := url.Values{"op": {"audience"}, "body": {texts[i%len(texts)]}, "audience": {"all"}, "when": {"now"}}
		start := time.Now()
		st, body, _, err := c.do(ctx, http.MethodPost, "/messages/new", "application/x-www-form-urlencoded",
			strings.NewReader(form.Encode()), "HX-Request", "true")
		took := time.Since(start)
		if err != nil {
			return err
		}
		m := audienceCount.FindStringSubmatch(body)
		if st != http.StatusOK || m == nil {
			return fmt.Errorf("compose audience count: status %d: %.300s", st, body)
		}
		recipients, _ = strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
		samples = append(samples, ms(took))
	}
	r.logf("web: the compose count says %d people will get the text", recipients)
	r.out.metric("compose_preview_p95_ms", percentile(samples, 95), "ms", append(extra,
		kv{"recipients", recipients}, kv{"target", 30}, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})...)
	return nil
}

package bench

import (
	"context"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// inboxBench measures the inbox of a church with n conversations (texts
// from its first n members, written with the store's ApplyInbound):
//
//   - inbox_page_p95_ms: the inbox page (the default list, filters,
//     searches by name and by phone: the members' bench phones, +1415000…,
//     are not valid numbers to type, so the phone searched has none);
//   - inbox_poll_p95_ms: the live list's poll while nothing changed (the
//     204 every open inbox asks for each second or two);
//   - inbox_live_p95_ms: from a text's webhook accepted (the simulator
//     posts it and gets 200) to the live list showing it, polled as a
//     browser polls it (at the fragment's own interval), so it includes
//     the wait for the next poll.
//
// The queue must be running: inbound webhooks are applied by jobs.
type inboxBench struct {
	r        *runner
	a        *app.App
	ten      *tenancy.Tenancy
	c        *webClient
	base     string
	measure  func(*webClient, string) (time.Duration, string, error)
	requests int
	live     int // texts timed for inbox_live_p95_ms
}

// inboxNumber is the measured church's number, texted by its members.
const inboxNumber = "+14155550100"

func (b *inboxBench) run(ctx context.Context, n int) error {
	tenantID := b.c.tenant()
	if err := b.ten.Registry.AssignNumber(ctx, tenantID, inboxNumber); err != nil {
		return err
	}
	start := time.Now()
	if err := fillConversations(ctx, b.ten, b.a.Store, tenantID, n); err != nil {
		return err
	}
	b.r.logf("web: %d conversations written in %s", n, time.Since(start).Round(time.Millisecond))
	extra := []kv{{"conversations", n}, {"requests", b.requests}, {"machine", machine()}}
	paths := []string{"/inbox", "/inbox?filter=needs_reply", "/inbox?filter=unread", "/inbox?filter=flagged", "/inbox?q=zoe",
		"/inbox?q=" + url.QueryEscape("(415) 555-0123"), "/inbox?filter=closed"}
	var samples []float64
	var first string
	for i := range b.requests {
		took, body, err := b.measure(b.c, paths[i%len(paths)])
		if err != nil {
			return err
		}
		if i == 0 {
			first = body
		}
		samples = append(samples, ms(took))
	}
	if n > 50 && !strings.Contains(first, "cursor=") {
		return fmt.Errorf("the inbox of %d conversations shows no next page", n)
	}
	b.r.out.metric("inbox_page_p95_ms", percentile(samples, 95), "ms", append(extra, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})...)

	live, _, err := liveOfPage(first)
	if err != nil {
		return err
	}
	samples = samples[:0]
	for range b.requests {
		t0 := time.Now()
		st, _, _, err := b.c.get(ctx, live)
		if err != nil {
			return err
		}
		if st != http.StatusNoContent {
			return fmt.Errorf("an unchanged inbox's poll: status %d", st)
		}
		samples = append(samples, ms(time.Since(t0)))
	}
	b.r.out.metric("inbox_poll_p95_ms", percentile(samples, 95), "ms", append(extra, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})...)

	samples = samples[:0]
	for i := range b.live {
		d, err := b.liveOnce(ctx, i)
		if err != nil {
			return err
		}
		samples = append(samples, ms(d))
	}
	b.r.out.metric("inbox_live_p95_ms", percentile(samples, 95), "ms", kv{"conversations", n}, kv{"texts", b.live},
		kv{"p50_ms", roundTo(percentile(samples, 50), 2)}, kv{"max_ms", roundTo(percentile(samples, 100), 2)}, kv{"machine", machine()})
	return nil
}

// liveOnce has someone text the church at a random moment of the open
// inbox's polling (from a valid number: the members' bench phones would be
// refused as invalid) and returns how long after its webhook was accepted the
// inbox's poll showed it.
func (b *inboxBench) liveOnce(ctx context.Context, i int) (time.Duration, error) {
	_, page, _, err := b.c.get(ctx, "/inbox")
	if err != nil {
		return 0, err
	}
	live, every, err := liveOfPage(page)
	if err != nil {
		return 0, err
	}
	text := fmt.Sprintf("Bench live text %d", i)
	accepted := make(chan time.Time, 1)
	failed := make(chan error, 1)
	go func() {
		time.Sleep(time.Duration(rand.Int64N(int64(every)))) // a random phase of the polling
		err := b.a.Sim.Inbound(ctx, telnyxsim.InboundMessage{From: fmt.Sprintf("+14155550%03d", 150+i%50), To: inboxNumber, Text: text,
			WebhookURL: b.base + "/webhooks/telnyx"})
		if err != nil {
			failed <- err
			return
		}
		accepted <- time.Now()
	}()
	deadline := time.Now().Add(30 * time.Second)
	var t0 time.Time
	for time.Now().Before(deadline) {
		st, body, _, err := b.c.get(ctx, live)
		if err != nil {
			return 0, err
		}
		select {
		case err := <-failed:
			return 0, err
		case t0 = <-accepted:
		default:
		}
		if st == http.StatusOK {
			if live, every, err = liveOfPage(body); err != nil {
				return 0, err
			}
			if strings.Contains(body, text) {
				if t0.IsZero() {
					t0 = <-accepted // shown before the simulator heard back: no wait at all
				}
				return max(0, time.Since(t0)), nil
			}
		}
		time.Sleep(every)
	}
	return 0, fmt.Errorf("text %d did not show in the inbox within 30 s", i)
}

var (
	liveGet     = regexp.MustCompile(`id="inbox-live" hx-get="([^"]+)" hx-trigger="every (\d+)s"`)
	liveGetNone = fmt.Errorf("the inbox has no live list")
)

// liveOfPage finds the live list's URL and polling interval in a page or fragment.
func liveOfPage(body string) (string, time.Duration, error) {
	m := liveGet.FindStringSubmatch(body)
	if m == nil {
		return "", 0, liveGetNone
	}
	secs, _ := strconv.Atoi(m[2])
	return html.UnescapeString(m[1]), time.Duration(secs) * time.Second, nil
}

// fillConversations stores one text from each of the church's first n
// members' phones (as fillMembers numbers them), newest last, through the
// store's ApplyInbound; one in 50 reads like a wish to stop.
func fillConversations(ctx context.Context, ten *tenancy.Tenancy, st *store.Store, tenantID string, n int) error {
	h, err := ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	for i := range n {
		in := store.InboundText{ProviderID: fmt.Sprintf("bench-in-%d", i), From: fmt.Sprintf("+1415%07d", i), ChurchNumber: inboxNumber,
			Body: "See you on Sunday! Can I bring a friend?"}
		if i%50 == 0 {
			in.Body, in.Flag = "please stop texting me", store.FlagPossibleOptOut
		}
		if _, err := st.ApplyInbound(ctx, h, in, nil); err != nil {
			return err
		}
	}
	return nil
}

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/config"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// runWeb measures the web app's pages for a church with --members members,
// over real HTTP with a signed-in session cookie, as a browser asks them:
//
//   - members_page_p95_ms: the members list (its first page, the page
//     --page reached through the "next" links, and searches by name,
//     accent-insensitive, and by phone);
//   - home_page_p95_ms: the home page;
//   - import_10000_rows_seconds: a --import-rows CSV through the web
//     upload: upload, preview, import (into a second, empty church);
//   - broadcast_page_p95_ms: a broadcast's page (funnel, failures by
//     reason, the first page of recipients, replies) and its progress
//     fragment, for a broadcast to all --members members;
//   - reports_page_p95_ms: the reports page of a church with a year of
//     weekly broadcasts to --report-members members;
//   - inbox_page_p95_ms, inbox_poll_p95_ms, inbox_live_p95_ms: the inbox
//     of a church with --conversations conversations (see inboxBench);
//   - page_bytes_max: the largest HTML of those pages.
//
// The members are written with the store's import (the same rows a CSV
// import writes), not through the pages: that is the shortcut.
func runWeb(ctx context.Context, r *runner, args []string) (err error) {
	fl := r.newFlags()
	backendName := fl.String("backend", "sqlite", "sqlite or postgres")
	nMembers := fl.Int("members", 10000, "members of the measured church")
	requests := fl.Int("requests", 200, "requests per page kind")
	page := fl.Int("page", 50, "the deep page of the members list, reached through its next links")
	importRows := fl.Int("import-rows", 10000, "rows of the imported CSV")
	reportMembers := fl.Int("report-members", 2000, "members of the church whose reports page is measured")
	conversations := fl.Int("conversations", 5000, "conversations in the measured church's inbox (at most --members)")
	liveTexts := fl.Int("live-texts", 20, "texts timed from webhook to the open inbox")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	b, err := backendFlag(*backendName)
	if err != nil {
		return err
	}
	if *nMembers < 1 || *requests < 1 || *page < 1 || *importRows < 1 || *importRows > 10000 || *conversations < 1 ||
		*conversations > *nMembers || *liveTexts < 1 {
		return usageError{"--members ≥ 1, --requests ≥ 1, --page ≥ 1, 1 ≤ --import-rows ≤ 10000, 1 ≤ --conversations ≤ --members, --live-texts ≥ 1"}
	}
	r.out.backend = string(b)
	e, err := newEnv(ctx, r, b)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := e.cleanup(); err == nil {
			err = cerr
		}
	}()
	def := config.Default()
	mc := tenancy.ManagerConfig{MaxConns: def.DBMaxConns, MaxPerTenant: def.DBMaxConnsPerTenant, MaxPools: def.DBMaxConns,
		IdleTimeout: time.Minute, AcquireTimeout: 30 * time.Second}
	ten, closeTen, err := e.open(ctx, e.options(def.RegistryMaxConns, mc, store.Schema()))
	if err != nil {
		return err
	}
	defer closeTen()

	// Mail (the sign-up's verification email) goes to an outbox in a
	// temporary folder of its own, removed at the end.
	mailDir, err := os.MkdirTemp("", "steeple-bench-web-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(mailDir)
	def.DataDir = mailDir
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	def.TelnyxAPIKey = ""
	a, err := app.New(ctx, app.Options{Config: def, Tenancy: ten, Keys: mustKeys(), PublicURL: "http://127.0.0.1", Logger: quiet,
		Tune: func(t *app.Tuning) {
			t.Auth.SignupsPerAddress, t.Auth.SignupsGlobal = 0, 0
			// Webhook events are applied by this process's event workers, as
			// `steeple serve` does (the inbox is measured with the queue running).
			t.Queue = jobs.Config{Logger: quiet, NoPeriodicJobs: true, EventWorkers: config.EventWorkersFor(0, b == steeple.BackendPostgres)}
		}})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	c := &webClient{base: srv.URL, http: srv.Client()}
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// The measured church, signed up through the page, then filled.
	if err := c.signup(ctx, "Grace Chapel", "ruth@grace.example.org"); err != nil {
		return err
	}
	if err := fillMembers(ctx, r, ten, a.Store, c.tenant(), *nMembers); err != nil {
		return err
	}
	extra := []kv{{"members", *nMembers}, {"requests", *requests}, {"machine", machine()}}
	maxBytes := 0
	measure := func(cl *webClient, path string) (time.Duration, string, error) {
		start := time.Now()
		st, body, _, err := cl.get(ctx, path)
		took := time.Since(start)
		if err == nil && st != http.StatusOK {
			err = fmt.Errorf("GET %s: status %d", path, st)
		}
		maxBytes = max(maxBytes, len(body))
		return took, body, err
	}

	// Members list: first page, a deep page, searches.
	if st, _, _, err := c.get(ctx, "/members"); err != nil {
		return err
	} else if st == http.StatusNotFound {
		r.logf("web: this build has no members list page; members_page_p95_ms is not measured")
	} else {
		paths := []string{"/members"}
		path := "/members"
		for i := 1; i < *page; i++ {
			_, body, err := measure(c, path)
			if err != nil {
				return err
			}
			next := nextLink.FindStringSubmatch(body)
			if next == nil {
				return fmt.Errorf("members page %d has no next link", i)
			}
			path = html.UnescapeString(next[1])
		}
		paths = append(paths, path, "/members?q=zoe", "/members?q="+url.QueryEscape("maría"), "/members?q="+url.QueryEscape("(415) 200-4321"))
		var samples []float64
		for i := range *requests {
			took, _, err := measure(c, paths[i%len(paths)])
			if err != nil {
				return err
			}
			samples = append(samples, ms(took))
		}
		r.out.metric("members_page_p95_ms", percentile(samples, 95), "ms", append(extra, kv{"page", *page}, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})...)
	}

	var samples []float64
	for range *requests {
		took, _, err := measure(c, "/")
		if err != nil {
			return err
		}
		samples = append(samples, ms(took))
	}
	r.out.metric("home_page_p95_ms", percentile(samples, 95), "ms", append(extra, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})...)

	// The compose page's audience count for everyone: the fragment htmx
	// asks for while a text is written (who gets it, who is left out and
	// why, the text as the first and the longest recipient get it).
	if err := measureComposePreview(ctx, r, c, *requests, extra); err != nil {
		return err
	}

	// A broadcast to every member, finished: its page and its fragment.
	bid, err := fillBroadcast(ctx, ten, a.Store, c.tenant(), time.Now())
	if err != nil {
		return err
	}
	if st, _, _, err := c.get(ctx, "/messages/"+bid+"/progress"); err != nil {
		return err
	} else if st == http.StatusNotFound {
		r.logf("web: this build has no broadcast progress fragment; broadcast_page_p95_ms is not measured")
	} else {
		samples = samples[:0]
		for i := range *requests {
			path := "/messages/" + bid
			if i%2 == 1 {
				path += "/progress"
			}
			took, _, err := measure(c, path)
			if err != nil {
				return err
			}
			samples = append(samples, ms(took))
		}
		r.out.metric("broadcast_page_p95_ms", percentile(samples, 95), "ms", append(extra, kv{"recipients", *nMembers}, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})...)
	}

	// Reports: a second church with a year of weekly broadcasts.
	rep := &webClient{base: srv.URL, http: c.http}
	if err := rep.signup(ctx, "Hope Church", "hope@hope.example.org"); err != nil {
		return err
	}
	if err := fillMembers(ctx, r, ten, a.Store, rep.tenant(), *reportMembers); err != nil {
		return err
	}
	start := time.Now()
	for wk := 0; wk < 52; wk++ {
		if _, err := fillBroadcast(ctx, ten, a.Store, rep.tenant(), time.Now().Add(-time.Duration(wk)*7*24*time.Hour)); err != nil {
			return err
		}
	}
	r.logf("web: 52 weekly broadcasts to %d members written in %s", *reportMembers, time.Since(start).Round(time.Millisecond))
	if st, _, _, err := rep.get(ctx, "/reports"); err != nil {
		return err
	} else if st == http.StatusNotFound {
		r.logf("web: this build has no reports page; reports_page_p95_ms is not measured")
	} else {
		samples = samples[:0]
		for range *requests {
			took, _, err := measure(rep, "/reports")
			if err != nil {
				return err
			}
			samples = append(samples, ms(took))
		}
		r.out.metric("reports_page_p95_ms", percentile(samples, 95), "ms", kv{"members", *reportMembers}, kv{"weeks_of_broadcasts", 52},
			kv{"requests", *requests}, kv{"machine", machine()}, kv{"p50_ms", roundTo(percentile(samples, 50), 2)})
	}

	// The import, through the pages, into a second church.
	imp := &webClient{base: srv.URL, http: c.http}
	if err := imp.signup(ctx, "Iglesia Nueva Vida", "ana@nuevavida.example.org"); err != nil {
		return err
	}
	csv := importCSV(*importRows)
	r.logf("web: importing %d rows (%d KB) through the pages", *importRows, len(csv)>>10)
	start = time.Now()
	loc, err := imp.upload(ctx, csv)
	if err != nil {
		return err
	}
	_, prev, err := measure(imp, loc)
	if err != nil {
		return err
	}
	if !strings.Contains(prev, fmt.Sprintf("%s people", groupThousands(*importRows))) {
		return fmt.Errorf("the preview does not count %d people", *importRows)
	}
	id := strings.TrimPrefix(loc, "/members/import/")
	form := url.Values{"map.first_name": {"First Name"}, "map.last_name": {"Last Name"}, "map.phone": {"Mobile Phone Number"},
		"map.email": {"Home Email"}, "map.groups": {""}, "consent": {steeple.ConsentOptedIn}, "wording": {"Signed the welcome card"}, "action": {"import"}}
	st, body, done, err := imp.post(ctx, "/members/import/"+id, form)
	if err != nil {
		return err
	}
	if st != http.StatusSeeOther {
		return fmt.Errorf("import: status %d: %.300s", st, body)
	}
	_, sum, err := measure(imp, done)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if !strings.Contains(sum, fmt.Sprintf(`<td id="sum-created">%s</td>`, groupThousands(*importRows))) {
		return fmt.Errorf("the summary does not show %d members created", *importRows)
	}
	r.out.metric("import_10000_rows_seconds", elapsed.Seconds(), "s", kv{"rows", *importRows}, kv{"csv_bytes", len(csv)}, kv{"machine", machine()})

	// The inbox: inbound webhooks are applied by queued jobs, so the queue
	// runs from here on.
	if st, _, _, err := c.get(ctx, "/inbox"); err != nil {
		return err
	} else if st == http.StatusNotFound {
		r.logf("web: this build has no inbox page; inbox_page_p95_ms and inbox_live_p95_ms are not measured")
	} else {
		if err := a.Start(ctx); err != nil {
			return err
		}
		ib := &inboxBench{r: r, a: a, ten: ten, c: c, base: srv.URL, measure: measure, requests: *requests, live: *liveTexts}
		if err := ib.run(ctx, *conversations); err != nil {
			return err
		}
	}
	r.out.metric("page_bytes_max", float64(maxBytes), "bytes", kv{"limit", 100 << 10}, kv{"machine", machine()})
	return nil
}

// nextLink is the members list's link to its next page.
var nextLink = regexp.MustCompile(`href="(/members\?[^"]*cursor=[^"]*)"`)

// webClient is a signed-in browser: it keeps the session cookie itself
// (a __Host- cookie is Secure; a cookie jar would not send it over plain
// http, though browsers do to 127.0.0.1).
type webClient struct {
	base    string
	http    *http.Client
	session string
}

func (c *webClient) tenant() string { return auth.WebSessionTenant(c.session) }

func (c *webClient) do(ctx context.Context, method, path, ctype string, body io.Reader, hdr ...string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, "", "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Origin", c.base)
	}
	req.Header.Set("Accept-Language", "en-US")
	if c.session != "" {
		req.AddCookie(&http.Cookie{Name: "__Host-steeple_session", Value: c.session})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-steeple_session" && ck.Value != "" {
			c.session = ck.Value
		}
	}
	return resp.StatusCode, string(b), resp.Header.Get("Location"), err
}

func (c *webClient) get(ctx context.Context, path string) (int, string, string, error) {
	return c.do(ctx, http.MethodGet, path, "", nil)
}

func (c *webClient) post(ctx context.Context, path string, form url.Values) (int, string, string, error) {
	return c.do(ctx, http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// signup creates a church through the sign-up page and signs in.
func (c *webClient) signup(ctx context.Context, church, email string) error {
	st, body, _, err := c.post(ctx, "/signup", url.Values{"church.name": {church}, "church.timezone": {"America/Chicago"},
		"admin.name": {"Bench Admin"}, "admin.email": {email}, "admin.password": {"correct horse battery staple"}})
	if err != nil {
		return err
	}
	if st != http.StatusSeeOther || c.session == "" {
		return fmt.Errorf("sign up %s: status %d: %.300s", church, st, body)
	}
	return nil
}

// upload posts a CSV through the import form; it returns the preview's path.
func (c *webClient) upload(ctx context.Context, csv []byte) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "people.csv")
	if err != nil {
		return "", err
	}
	_, _ = fw.Write(csv)
	if err := mw.Close(); err != nil {
		return "", err
	}
	st, body, loc, err := c.do(ctx, http.MethodPost, "/members/import", mw.FormDataContentType(), &buf)
	if err != nil {
		return "", err
	}
	if st != http.StatusSeeOther || loc == "" {
		return "", fmt.Errorf("upload: status %d: %.300s", st, body)
	}
	return loc, nil
}

// firstNames give the members realistic, partly accented names.
var firstNames = []string{"Zoë", "María", "José", "Ann", "Benjamin", "Chloé", "Daniel", "Élise", "Felipe", "Grace", "Hannah", "Iñaki", "Julia", "Kevin", "Lucía", "Mark"}
var lastNames = []string{"Zimmerman", "Hernández", "García", "Adams", "Baker", "Carter", "Díaz", "Evans", "Flores", "Green", "Hughes", "Ingram", "Jones", "Núñez", "Peña", "Smith"}

// fillMembers writes n opted-in members straight into the church's
// database, as the import does.
func fillMembers(ctx context.Context, r *runner, ten *tenancy.Tenancy, st *store.Store, tenantID string, n int) error {
	if tenantID == "" {
		return errors.New("no church in the session")
	}
	h, err := ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	rows := make([]store.ImportRow, n)
	for i := range rows {
		rows[i] = store.ImportRow{Line: i + 2, Member: store.MemberInput{FirstName: firstNames[i%len(firstNames)],
			LastName: fmt.Sprintf("%s %d", lastNames[(i/len(firstNames))%len(lastNames)], i), Phone: fmt.Sprintf("+1415%03d%04d", 200+i/10000, i%10000)}} // a valid US exchange: the compose count texts only valid numbers
	}
	start := time.Now()
	if _, err := st.ImportMembers(ctx, h, rows, steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceImport}); err != nil {
		return err
	}
	r.logf("web: %d members written in %s", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// fillBroadcast writes a finished broadcast to every member of a church,
// sent at `at`: the store's own CreateBroadcast, then its recipients' ends
// set in a few statements (most delivered, some landlines, carrier blocks,
// unreachable phones and opt-outs) instead of going through a provider.
func fillBroadcast(ctx context.Context, ten *tenancy.Tenancy, st *store.Store, tenantID string, at time.Time) (string, error) {
	h, err := ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return "", err
	}
	defer h.Release()
	rs, err := st.AudienceMembers(ctx, h, store.Audience{All: true})
	if err != nil {
		return "", err
	}
	admins, err := st.Admins(ctx, h)
	if err != nil || len(admins) == 0 {
		return "", fmt.Errorf("no admin to send as: %v", err)
	}
	out := make([]store.OutgoingRecipient, len(rs))
	for i, x := range rs {
		out[i] = store.OutgoingRecipient{Recipient: x, Body: "Hi " + x.FirstName + ", service is at 10 on Sunday.", Chunk: i / store.ChunkSize}
	}
	b := &store.Broadcast{ID: steeple.NewID(), Text: "Hi {first_name}, service is at 10 on Sunday.", From: "+14155550100",
		Encoding: "GSM-7", SegmentsPerMessage: 1, Recipients: len(rs), Chunks: (len(rs) + store.ChunkSize - 1) / store.ChunkSize,
		CreatedBy: admins[0].ID, Audience: store.Audience{All: true}}
	if err := st.CreateBroadcast(ctx, h, b, out, len(rs), 0); err != nil {
		return "", err
	}
	at = at.UTC()
	if _, err := h.ExecContext(ctx, `UPDATE messages SET created_at = $1, dispatched_at = $1 WHERE id = $2`, at, b.ID); err != nil {
		return "", err
	}
	if _, err := h.ExecContext(ctx, `UPDATE message_recipients SET status = 'delivered', sent_at = $1, finished_at = $1 WHERE message_id = $2`, at, b.ID); err != nil {
		return "", err
	}
	n := len(rs)
	for _, f := range []struct {
		status, code, detail string
		share                int // out of 1000
	}{{"failed", "40310", "invalid number: not a mobile number", 20}, {"failed", "40003", "spam (permanent)", 5},
		{"failed", "40006", "recipient unavailable", 10}, {"skipped", "", "member opted out or was removed", 5}} {
		if _, err := h.ExecContext(ctx, `UPDATE message_recipients SET status = $1, error_code = $2, error_detail = $3
			WHERE message_id = $4 AND member_id IN (SELECT member_id FROM message_recipients
				WHERE message_id = $4 AND status = 'delivered' ORDER BY member_id LIMIT $5)`,
			f.status, f.code, f.detail, b.ID, n*f.share/1000); err != nil {
			return "", err
		}
	}
	if _, err := h.ExecContext(ctx, `UPDATE message_recipients SET sent_at = NULL WHERE message_id = $1 AND status = 'skipped'`, b.ID); err != nil {
		return "", err
	}
	return b.ID, nil
}

// importCSV is a Planning Center People-shaped export of n people.
func importCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("Person ID,Given Name,First Name,Nickname,Last Name,Home Phone Number,Mobile Phone Number,Work Phone Number,Home Email,Work Email,Status\n")
	for i := range n {
		fn := firstNames[i%len(firstNames)]
		ln := lastNames[(i/len(firstNames))%len(lastNames)]
		fmt.Fprintf(&b, "%d,,%s,,%s %d,,(628) %03d-%04d,,%s.%d@example.org,,active\n", 50000000+i, fn, ln, i, 200+i/10000, i%10000,
			strings.ToLower(strings.ReplaceAll(ln, " ", "")), i)
	}
	return b.Bytes()
}

// groupThousands writes n as the English pages do (10,000).
func groupThousands(n int) string {
	s := fmt.Sprint(n)
	var out strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out.WriteByte(',')
		}
		out.WriteRune(c)
	}
	return out.String()
}

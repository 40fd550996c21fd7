package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/schedule"
	"github.com/steeple-sms/steeple/store"
)

// maxComposeUpload bounds a compose form with its image: the media service
// scales larger images down, but reads them whole first.
const maxComposeUpload = 10 << 20

// composeMembers is how many members the "picked members" list offers.
const composeMembers = 200

func (h *Handler) routeCompose() {
	h.mux.HandleFunc("GET /messages/new", h.authed(h.composeForm))
	h.mux.HandleFunc("POST /messages/new", h.authedCompose(h.composePost))
	h.mux.HandleFunc("POST /messages/count", h.sessionOnly(h.composeCount))
	h.mux.HandleFunc("GET /messages/new/media/{id}", h.authed(h.composeMedia))
}

// imageKey carries a compose form's image, read before the handle is taken.
type imageKey struct{}

type composeImage struct {
	u   *store.Upload
	err error
}

// authedCompose is authed for the compose form, which may be multipart (an
// image) or urlencoded (htmx fragments, no-script posts). The body is read
// and bounded BEFORE the church's handle is acquired.
func (h *Handler) authedCompose(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	inner := h.authed(next)
	return func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err != nil || auth.WebSessionTenant(c.Value) == "" {
			h.toSignIn(w, r)
			return
		}
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			inner(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxComposeUpload)
		err := r.ParseMultipartForm(1 << 20)
		if r.MultipartForm != nil {
			defer func() { _ = r.MultipartForm.RemoveAll() }()
		}
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			h.fail(w, r, nil, steeple.Errorf(steeple.ETOOLARGE, "the form is larger than 10 MB"))
			return
		}
		if err != nil {
			h.fail(w, r, nil, steeple.Errorf(steeple.EINVALID, "the form could not be read"))
			return
		}
		img := &composeImage{}
		if f, fh, err := r.FormFile("file"); err == nil {
			b, err := io.ReadAll(f)
			_ = f.Close()
			switch {
			case err != nil:
				img.err = steeple.FieldError("file", "could not be read")
			case len(b) > 0:
				img.u, img.err = messaging.PrepareImage(b)
			case fh.Filename != "":
				img.err = steeple.FieldError("file", "is empty")
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), imageKey{}, img))
		r.Body = http.NoBody
		inner(w, r)
	}
}

// composeFields are the compose form's single-valued fields, kept as typed.
var composeFields = []string{"body", "media_id", "audience", "when", "date", "time", "frequency",
	"day_of_month", "ordinal", "month_weekday", "monthly", "name", "variable"}

// composeData is the compose page and its review.
type composeData struct {
	Variables []members.Variable
	Groups    []steeple.Group
	Members   []*steeple.Member
	GroupSel  map[string]bool
	MemberSel map[string]bool
	DaySel    map[string]bool
	Count     messaging.Count
	Preview   *messaging.Preview
	Timezone  string
	Upcoming  []occurrence
	Review    *review
	Fields    []field // the review repeats the form in hidden fields
	Notice    string  // an error about the whole form (translated id or service message)
}

// occurrence is one upcoming sending time, with what to watch for.
type occurrence struct {
	At    time.Time
	Quiet bool // falls in quiet hours: held until they end
	DST   bool // on a day the clocks change
}

// review is what a send will cost and how long it will take.
type review struct {
	Recipients, Parts    int
	From                 string
	QuotaUsed, Quota     int
	QuotaAfter           int
	OverQuota            bool
	Duration             string // at the current sending limit
	CapToday, CapLeft    int    // the daily cap (0: none) and what is left of it today
	NotToday             bool
	Quiet                bool
	QuietStart, QuietEnd string
	When                 string // "now", "at", "recurring"
	At                   time.Time
	// MyPhone is the signed-in admin's own phone, where "Send a test to
	// me" goes ("" when none is on file: the page offers to save one).
	MyPhone     string
	PhoneSaved  bool
	TestSentTo  string // a test just went to this phone
	TestProblem string // why a test could not be sent (a service message)
}

// Weekdays are the days of a weekly rule, Sunday first.
func (composeData) Weekdays() []string {
	return []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
}

// Ordinals are a monthly rule's "first … last".
func (composeData) Ordinals() []string { return []string{"first", "second", "third", "fourth", "last"} }

// UCS2 lists the characters forcing UCS-2, each once, in text order.
func (d composeData) UCS2() []messaging.ForcingChar {
	seen := map[string]bool{}
	var out []messaging.ForcingChar
	for _, c := range d.Count.UCS2Chars {
		if !seen[c.Char] {
			seen[c.Char] = true
			out = append(out, c)
		}
	}
	return out
}

// ShowChar names a character a reader cannot see (a no-break space).
func (composeData) ShowChar(c string) string {
	switch c {
	case "\u00a0", "\u2009", "\u202f", "\u2002", "\u2003":
		return "␣"
	case "\u00ad":
		return "(-)"
	}
	return c
}

// LeftOut are the reasons members are left out, in a fixed order, with their counts.
func (d composeData) LeftOut() []statusCount {
	if d.Preview == nil {
		return nil
	}
	var out []statusCount
	for _, k := range []string{messaging.LeftOutOptedOut, messaging.LeftOutNoValidMobile, messaging.LeftOutDuplicatePhone, messaging.LeftOutOutsideRegion} {
		if n := d.Preview.LeftOut[k]; n > 0 {
			out = append(out, statusCount{k, n})
		}
	}
	return out
}

func (h *Handler) composeForm(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	d := &composeData{DaySel: map[string]bool{"sunday": true}}
	if q := r.URL.Query(); q.Get("body") != "" {
		// Duplicate (a broadcast's page) fills in its text, image and audience.
		d = readCompose(v, q)
		d.DaySel["sunday"] = true
	}
	for k, def := range map[string]string{"audience": "all", "when": "now", "frequency": "weekly", "monthly": "date", "time": "09:00"} {
		if v.Form.Values[k] == "" {
			v.Form.Values[k] = def
		}
	}
	h.showCompose(w, r, s, http.StatusOK, d)
}

// readCompose keeps what was typed and ticked.
func readCompose(v *view, f map[string][]string) *composeData {
	get := func(k string) string {
		if vals := f[k]; len(vals) > 0 {
			return vals[0]
		}
		return ""
	}
	for _, k := range composeFields {
		v.Form.Values[k] = get(k)
	}
	d := &composeData{GroupSel: map[string]bool{}, MemberSel: map[string]bool{}, DaySel: map[string]bool{}}
	for _, id := range f["group_id"] {
		d.GroupSel[id] = true
	}
	for _, id := range f["member_id"] {
		d.MemberSel[id] = true
	}
	for _, day := range f["weekday"] {
		d.DaySel[day] = true
	}
	return d
}

// request is the broadcast the form describes.
func composeRequest(v *view, f map[string][]string) messaging.BroadcastRequest {
	req := messaging.BroadcastRequest{Text: v.Form.Value("body")}
	if id := v.Form.Value("media_id"); id != "" {
		req.MediaIDs = []string{id}
	}
	switch v.Form.Value("audience") {
	case "groups":
		req.Audience.GroupIDs = append([]string{}, f["group_id"]...)
	case "members":
		req.Audience.MemberIDs = append([]string{}, f["member_id"]...)
	default:
		req.Audience.All = true
	}
	return req
}

// composeCount is the live counter: pure computation on the text, so it
// takes no church connection (see sessionOnly).
func (h *Handler) composeCount(w http.ResponseWriter, r *http.Request, v *view) {
	d := readCompose(v, r.PostForm)
	d.Count = messaging.CountText(v.Form.Value("body"))
	v.Data = d
	h.renderFragment(w, http.StatusOK, "compose", "counter", v)
}

// composeMedia shows an uploaded image (the thumbnail) to the church's admins.
func (h *Handler) composeMedia(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if !steeple.ValidID(id) {
		h.fail(w, r, s.view, errNotFound)
		return
	}
	u, err := h.deps.Messaging.Media(r.Context(), s.h, id)
	if err != nil {
		h.fail(w, r, s.view, err)
		return
	}
	w.Header().Set("Content-Type", u.ContentType)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(u.Data)
}

// composePost handles every button of the compose form: op=plain applies
// the GSM-7 look-alikes, op=insert appends a variable (app.js inserts at
// the cursor instead), op=audience counts who gets it (htmx fragment),
// op=upload keeps an image, op=review shows the cost, op=send sends or
// schedules, op=test texts the admin's own phone and op=savephone saves
// it (both from the review), op=edit goes back from the review.
func (h *Handler) composePost(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	f := r.PostForm
	d := readCompose(v, f)
	ctx := r.Context()
	if img, _ := ctx.Value(imageKey{}).(*composeImage); img != nil {
		if img.err != nil {
			if !h.formError(v, img.err, "file") {
				h.fail(w, r, v, img.err)
				return
			}
			h.showCompose(w, r, s, http.StatusBadRequest, d)
			return
		}
		if img.u != nil {
			u, err := h.deps.Messaging.SaveMedia(ctx, s.h, s.admin, img.u)
			if err != nil {
				h.fail(w, r, v, err)
				return
			}
			v.Form.Values["media_id"] = u.ID
		}
	}
	if id := v.Form.Value("media_id"); id != "" {
		if !steeple.ValidID(id) {
			h.fail(w, r, v, errNotFound)
			return
		}
		if _, err := h.deps.Messaging.Media(ctx, s.h, id); err != nil {
			h.fail(w, r, v, err) // another church's image: 404
			return
		}
	}
	switch f.Get("op") {
	case "plain":
		out, _ := messaging.ReplaceGSM(v.Form.Value("body"))
		v.Form.Values["body"] = out
	case "insert":
		body := v.Form.Value("body")
		out, err := members.InsertVariable(members.InsertVariableRequest{Body: body, Variable: v.Form.Value("variable"), Position: len([]rune(body))})
		if err != nil {
			v.Form.Errors["variable"] = "choose a variable from the list"
			h.showCompose(w, r, s, http.StatusBadRequest, d)
			return
		}
		v.Form.Values["body"] = out.Body
	case "noimage":
		v.Form.Values["media_id"] = ""
	case "audience":
		h.composeAudience(w, r, s, d)
		return
	case "review", "send", "test", "savephone":
		h.composeReview(w, r, s, d, f.Get("op"))
		return
	}
	h.showCompose(w, r, s, http.StatusOK, d)
}

// composeAudience is the htmx fragment: who will get it, who is left out.
func (h *Handler) composeAudience(w http.ResponseWriter, r *http.Request, s *session, d *composeData) {
	v := s.view
	status := http.StatusOK
	req := composeRequest(v, r.PostForm)
	if strings.TrimSpace(req.Text) == "" {
		req.Text = "-" // the audience is counted before the text is written
	}
	p, err := h.deps.Messaging.Preview(r.Context(), s.h, req)
	if err != nil {
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				v.Form.Errors[k] = m
			}
			status = http.StatusBadRequest
		} else {
			h.fail(w, r, v, err)
			return
		}
	}
	d.Preview = p
	v.Data = d
	if isHTMX(r) {
		h.renderFragment(w, status, "compose", "audience", v)
		return
	}
	h.showCompose(w, r, s, status, d)
}

// showCompose renders the compose page with d's choices.
func (h *Handler) showCompose(w http.ResponseWriter, r *http.Request, s *session, status int, d *composeData) {
	v := s.view
	v.TitleID = "compose.title"
	ctx := r.Context()
	var err error
	if d.Groups, err = h.deps.Members.Groups(ctx, s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	p, err := h.deps.Members.Page(ctx, s.h, members.ListRequest{Limit: composeMembers})
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Members = p.Members
	if d.GroupSel == nil {
		d.GroupSel, d.MemberSel = map[string]bool{}, map[string]bool{}
	}
	d.Variables = members.Variables
	d.Count = messaging.CountText(v.Form.Value("body"))
	d.Timezone = s.h.Tenant().Timezone
	if v.Form.Value("when") == "recurring" {
		if rule, err := composeRule(v, d); err == nil {
			d.Upcoming, _ = h.upcoming(ctx, s, rule, 5)
		}
	}
	v.Data = d
	h.render(w, r, status, "compose", v)
}

// composeRule is the recurring rule the form describes.
func composeRule(v *view, d *composeData) (schedule.Rule, error) {
	rule := schedule.Rule{Frequency: v.Form.Value("frequency"), Time: v.Form.Value("time")}
	switch rule.Frequency {
	case schedule.Weekly:
		for _, day := range d.Weekdays() {
			if d.DaySel[day] {
				rule.Weekdays = append(rule.Weekdays, day)
			}
		}
	case schedule.Monthly:
		if v.Form.Value("monthly") == "weekday" {
			rule.Ordinal, rule.Weekday = v.Form.Value("ordinal"), v.Form.Value("month_weekday")
		} else {
			n, err := strconv.Atoi(strings.TrimSpace(v.Form.Value("day_of_month")))
			if err != nil || n == 0 {
				return rule, steeple.FieldError("day_of_month", "must be 1 to 31")
			}
			rule.DayOfMonth = n
		}
	}
	return rule, rule.Validate()
}

// upcoming lists a rule's next n occurrences, flagging quiet hours and
// daylight-saving changes.
func (h *Handler) upcoming(ctx context.Context, s *session, rule schedule.Rule, n int) ([]occurrence, error) {
	loc := schedule.Location(s.h)
	os, err := rule.Upcoming(h.deps.Now(), loc, n)
	if err != nil {
		return nil, err
	}
	q, err := h.deps.Schedules.QuietHours(ctx, s.h)
	if err != nil {
		return nil, err
	}
	out := make([]occurrence, 0, len(os))
	for _, o := range os {
		out = append(out, occurrence{At: o.At, Quiet: !q.Release(o.At, loc).Equal(o.At), DST: dstChangeOn(o.At, loc)})
	}
	return out, nil
}

// dstChangeOn reports whether the clocks change on t's local day.
func dstChangeOn(t time.Time, loc *time.Location) bool {
	l := t.In(loc)
	start := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	end := time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
	_, a := start.Zone()
	_, b := end.Zone()
	return a != b
}

// sendAt reads the date and time fields as the church's local time.
func sendAt(v *view, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02 15:04", strings.TrimSpace(v.Form.Value("date"))+" "+strings.TrimSpace(v.Form.Value("time")), loc)
	if err != nil {
		return time.Time{}, steeple.FieldError("send_at", "give a date and a time (HH:MM)")
	}
	return t, nil
}

// truncate keeps the first n characters of s.
func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if rs := []rune(s); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return s
}

// Svc translates a service's message when a translation exists.
func (v *view) Svc(msg string) string { return v.tr.serviceMessage(v.Lang, msg) }

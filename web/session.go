package web

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/tenancy"
)

// Cookie names. __Host- cookies must be Secure, Path=/ and have no Domain;
// browsers treat http://127.0.0.1 and localhost as secure, so the embedded
// default works too.
const (
	sessionCookie = "__Host-steeple_session"
	mfaCookie     = "__Host-steeple_mfa"
	mfaCookieTTL  = 5 * time.Minute // the MFA token itself expires sooner or as soon
	// choiceCookie holds the signed church-choice token between a password
	// that matched at several churches and the church chosen.
	choiceCookie = "__Host-steeple_choice"
)

// setCookie writes one of our cookies with the attributes they all share.
func setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// client names the browser for a session's record.
func client(r *http.Request) auth.WebClient {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	return auth.WebClient{IP: ip, UserAgent: r.UserAgent()}
}

// session is a signed-in request: its admin and its church's handle, held
// only while the handler runs.
type session struct {
	admin *steeple.Admin
	h     *tenancy.Handle
	raw   string
	view  *view
}

// authed wraps a page that needs a signed-in admin. Like the API's authed
// middleware it finds the church from the cookie without a database,
// acquires the church's handle (a suspended church is refused there),
// checks the session, and releases the handle when the handler returns. A
// form body is read BEFORE acquiring, so no handle waits on a slow client.
func (h *Handler) authed(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		tenantID := ""
		if err == nil {
			tenantID = auth.WebSessionTenant(c.Value)
		}
		if tenantID == "" {
			h.toSignIn(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				h.fail(w, r, nil, steeple.Errorf(steeple.ETOOLARGE, "the form is too large"))
				return
			}
		}
		hd, err := h.acquire(r.Context(), tenantID)
		if err != nil {
			switch steeple.ErrorCode(err) {
			case steeple.ENOTFOUND, steeple.ESUSPENDED:
				// The church is gone or suspended: the session is over.
				setCookie(w, sessionCookie, "", time.Time{})
				h.toSignIn(w, r)
			default:
				h.fail(w, r, nil, err)
			}
			return
		}
		// The page is written to a buffer and sent after the handle is
		// released, so a slow client never holds a church connection.
		out := &heldResponse{w: w}
		defer out.send()
		defer hd.Release()
		w = out
		admin, err := h.deps.Auth.WebSession(r.Context(), hd, c.Value)
		if steeple.ErrorCode(err) == steeple.EUNAUTHORIZED {
			setCookie(w, sessionCookie, "", time.Time{})
			h.toSignIn(w, r)
			return
		}
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		v := h.newView(r, "")
		lang, err := h.deps.Auth.Language(r.Context(), hd, admin.ID)
		if err == nil && supported(lang) {
			v.Lang = lang
		}
		now := h.deps.Now()
		h.checked.remember(c.Value, checkedSession{tenantID: tenantID, adminID: admin.ID, lang: lang, until: now.Add(checkedFor)}, now)
		t := hd.Tenant()
		v.Church, v.Admin = t.Name, admin
		if loc, err := time.LoadLocation(t.Timezone); err == nil {
			v.location = loc
		}
		next(w, r, &session{admin: admin, h: hd, raw: c.Value, view: v})
	}
}

// toSignIn sends a browser without a usable session to the sign-in page
// (htmx requests are told through HX-Redirect, so the whole page moves).
func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request) {
	target := "/signin"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps a post-sign-in (or language picker) destination on this
// site. The value is parsed, not pattern-matched: it must have no scheme or
// host, a path starting with a single "/", and no control characters or
// backslashes anywhere (browsers strip tabs and newlines and read "\\" as
// "/", so "/\t/evil.example" would become "//evil.example"). The result is
// rebuilt from the path and query alone.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return "/"
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	out := (&url.URL{Path: p, RawQuery: u.RawQuery}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}

// heldResponse keeps a response until send, so that it is written to the
// client after the church's handle is released.
type heldResponse struct {
	w      http.ResponseWriter
	status int
	body   []byte
	after  io.ReadCloser // a download, copied after the body
}

// sendAfter makes send copy r to the client (and close it): a file
// download goes out after the church's handle is released.
func (o *heldResponse) sendAfter(r io.ReadCloser) { o.after = r }

func (o *heldResponse) Header() http.Header { return o.w.Header() }

func (o *heldResponse) WriteHeader(status int) {
	if o.status == 0 {
		o.status = status
	}
}

func (o *heldResponse) Write(b []byte) (int, error) {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	o.body = append(o.body, b...)
	return len(b), nil
}

// send writes the kept response.
func (o *heldResponse) send() {
	if o.status == 0 {
		o.status = http.StatusOK
	}
	o.w.WriteHeader(o.status)
	_, _ = o.w.Write(o.body)
	if o.after != nil {
		_, _ = io.Copy(o.w, o.after)
		_ = o.after.Close()
	}
}

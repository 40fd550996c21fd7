package web

import (
	"net/http"
	"time"

	"github.com/steeple-sms/steeple"
)

func (h *Handler) routeHome() {
	h.mux.HandleFunc("GET /{$}", h.authed(h.home))
	h.mux.HandleFunc("GET /setup/{step}", h.authed(h.setupStep))
}

// setupSteps are the checklist items that have no page of their own yet:
// each link leads to a short explanation of how to do it for now (through
// the JSON API) instead of nowhere.
var setupSteps = map[string]string{"send": "setup.send"}

// setupMoved are steps that have their own page now (old links still work).
var setupMoved = map[string]string{"number": "/numbers", "register": "/registration"}

// setupStep explains a setup step that has no page yet.
func (h *Handler) setupStep(w http.ResponseWriter, r *http.Request, s *session) {
	if to, ok := setupMoved[r.PathValue("step")]; ok {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	id, ok := setupSteps[r.PathValue("step")]
	if !ok {
		h.fail(w, r, s.view, errNotFound)
		return
	}
	v := s.view
	v.TitleID = id + ".title"
	v.Data = id
	h.render(w, r, http.StatusOK, "setup", v)
}

// step is one item of the setup checklist.
type step struct {
	TextID string
	Href   string // where the step is done
	Done   bool
}

// recent is a broadcast on the home page.
type recent struct {
	ID         string
	Text       string
	CreatedAt  time.Time
	Recipients int
	Delivered  int
	Failed     int
	RatePct    int // delivered out of recipients, in percent
}

// homeData is what the home page shows.
type homeData struct {
	Steps        []step
	SetupDone    bool
	Used, Quota  int // segments this month; Quota 0: no limit
	Unread       int
	OptOuts      int
	Recent       []recent
	LimitID      string // message id of the sending limit's explanation
	Rate         string // texts per second, for the explanation
	DailyCap     int    // texts a day before registration (0: none)
	Capped       bool   // the church sends under the unregistered limits
	Registration string
	// Unverified: the church's email is not verified yet (the banner);
	// VerifyTo is where the link went when the viewer is the admin who
	// must verify ("" for another admin); Resent is "1" or "wait" after
	// asking for a new link.
	Unverified bool
	VerifyTo   string
	Resent     string
}

// home is the church at a glance: what is left to set up, and how texting goes.
func (h *Handler) home(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	v := s.view
	v.TitleID = "home.title"
	now := h.deps.Now().In(v.loc())
	monthStart := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, v.loc())
	ov, err := h.deps.Store.Overview(ctx, s.h, monthStart)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	nums, err := h.deps.Tenancy.Registry.SendingNumbers(ctx, s.h.TenantID())
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	regStatus := steeple.RegistrationStatus("not_submitted")
	if h.deps.Registration != nil {
		reg, err := h.deps.Registration.Get(ctx, s.h)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		regStatus = reg.Status
	}
	d := homeData{Used: ov.SegmentsThisMonth, Unread: ov.UnreadConversations, OptOuts: ov.OptOutsSince,
		Quota: h.deps.Plans[s.h.Tenant().Plan].MonthlySegments, Registration: string(regStatus)}
	gate, err := h.deps.Auth.ChurchGate(ctx, s.h)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if gate.VerifiedAt == nil {
		d.Unverified = true
		if gate.AdminID == s.admin.ID {
			d.VerifyTo = s.admin.Email
		}
		if q := r.URL.Query().Get("resent"); q == "1" || q == "wait" {
			d.Resent = q
		}
	}
	d.Steps = []step{
		{"home.step.number", "/numbers", len(nums) > 0},
		{"home.step.register", "/registration", regStatus == steeple.RegProvisioned},
		{"home.step.import", "/members/import", ov.Members > 0},
		{"home.step.send", "/setup/send", ov.Broadcasts > 0},
	}
	if !v.Manages() {
		// Numbers and registration are an owner's or admin's to do.
		d.Steps[0].Href, d.Steps[1].Href = "", ""
	}
	d.SetupDone = true
	for _, st := range d.Steps {
		d.SetupDone = d.SetupDone && st.Done
	}
	switch regStatus {
	case steeple.RegProvisioned:
		d.LimitID, d.Rate = "home.limit.registered", formatRate(h.deps.Limits.RegisteredRate)
	case "not_submitted":
		d.LimitID, d.Rate, d.DailyCap = "home.limit.unregistered", formatRate(h.deps.Limits.UnregisteredRate), h.deps.Limits.UnregisteredDailyCap
	case steeple.RegBrandFailed, steeple.RegCampaignRejected:
		d.LimitID, d.Rate, d.DailyCap = "home.limit.rejected", formatRate(h.deps.Limits.UnregisteredRate), h.deps.Limits.UnregisteredDailyCap
	default:
		d.LimitID, d.Rate, d.DailyCap = "home.limit.pending", formatRate(h.deps.Limits.UnregisteredRate), h.deps.Limits.UnregisteredDailyCap
	}
	d.Capped = regStatus != steeple.RegProvisioned
	if h.deps.Messaging != nil {
		bs, err := h.deps.Messaging.List(ctx, s.h, 5)
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		for _, b := range bs {
			rc := recent{ID: b.ID, Text: b.Text, CreatedAt: b.CreatedAt, Recipients: b.Recipients,
				Delivered: b.Counts[steeple.RecipientDelivered], Failed: b.Counts[steeple.RecipientFailed]}
			if b.Recipients > 0 {
				rc.RatePct = rc.Delivered * 100 / b.Recipients
			}
			d.Recent = append(d.Recent, rc)
		}
	}
	v.Data = d
	h.render(w, r, http.StatusOK, "home", v)
}

// formatRate shows texts per second without needless decimals.
func formatRate(r float64) string {
	if r == float64(int(r)) {
		return formatNumber("en", int(r))
	}
	return trimFloat(r)
}

package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/numbers"
	"github.com/steeple-sms/steeple/tenancy"
)

// Numbers pages: the church's numbers and purchases, a search of numbers
// to buy, and buying, releasing and restoring one. Only owners and admins
// reach them.
func (h *Handler) routeNumbers() {
	h.mux.HandleFunc("GET /numbers", h.authed(h.manager(h.numbersPage)))
	h.mux.HandleFunc("POST /numbers/buy", h.authed(h.manager(h.numberBuy)))
	h.mux.HandleFunc("GET /numbers/orders/{id}", h.authed(h.manager(h.numberOrderPage)))
	h.mux.HandleFunc("GET /numbers/orders/{id}/progress", h.authed(h.manager(h.numberOrderProgress)))
	h.mux.HandleFunc("POST /numbers/release", h.authed(h.manager(h.numberRelease)))
	h.mux.HandleFunc("POST /numbers/restore", h.authed(h.manager(h.numberRestore)))
}

// numbersData is the numbers page.
type numbersData struct {
	Numbers  []*tenancy.Number
	Orders   []*tenancy.NumberOrder
	Found    []numbers.Available
	Searched bool
	Done     string
	Grace    int // days a released number stays the church's
}

func (h *Handler) showNumbers(w http.ResponseWriter, r *http.Request, s *session, status int, d numbersData) {
	v := s.view
	v.TitleID = "numbers.title"
	v.region = h.phoneRegion(r.Context(), s.h)
	ns, err := h.deps.Numbers.List(r.Context(), s.h.TenantID())
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	d.Numbers, d.Orders = ns.Numbers, ns.Orders
	d.Grace = graceDays(h.deps.Numbers.ReleaseGrace())
	v.Data = d
	h.render(w, r, status, "numbers", v)
}

func graceDays(d time.Duration) int { return int((d + 12*time.Hour) / (24 * time.Hour)) }

// numbersPage lists the church's numbers and, with ?q=, searches numbers
// to buy: three digits are an area code, anything else a city.
func (h *Handler) numbersPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	d := numbersData{}
	switch r.URL.Query().Get("done") {
	case "released", "restored":
		d.Done = "numbers.done." + r.URL.Query().Get("done")
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v.Form.Values["q"] = q
	status := http.StatusOK
	if q != "" {
		d.Searched = true
		found, err := h.deps.Numbers.Search(r.Context(), searchQuery(q))
		if err != nil {
			if !h.formError(v, err, "q") {
				h.fail(w, r, v, err)
				return
			}
			for k, m := range v.Form.Errors {
				if k != "q" { // area_code or locality: the one box
					v.Form.Errors["q"] = m
				}
			}
			status = http.StatusBadRequest
		}
		for i := range found {
			found[i].Locality = titleCase(found[i].Locality) // rate centres come in capitals
		}
		d.Found = found
	}
	h.showNumbers(w, r, s, status, d)
}

// searchQuery reads the one search box: "312" or "(312)" is an area code,
// a name is a city.
func searchQuery(q string) numbers.AvailableQuery {
	code := strings.Trim(q, "() ")
	if len(code) == 3 && strings.Trim(code, "0123456789") == "" {
		return numbers.AvailableQuery{AreaCode: code}
	}
	return numbers.AvailableQuery{Locality: q}
}

// numberBuy asks first, then orders the number and shows its progress.
func (h *Handler) numberBuy(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.region = h.phoneRegion(r.Context(), s.h)
	raw := r.PostForm.Get("number")
	v.Form.Values["number"] = raw
	e164, err := numbers.NormalizeNumber(raw)
	if err != nil {
		h.formError(v, err, "number")
		h.showNumbers(w, r, s, http.StatusBadRequest, numbersData{})
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		r.PostForm.Set("number", e164)
		h.confirm(w, r, v, v.T("numbers.buy.question", "Number", v.Phone(e164), "Church", v.Church),
			v.T("numbers.buy.button", "Number", v.Phone(e164)), "/numbers")
		return
	}
	mu, _ := h.orderLocks.LoadOrStore(s.h.TenantID(), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	err = h.deps.Auth.CheckNumberOrder(r.Context(), s.h)
	var o *tenancy.NumberOrder
	if err == nil {
		o, err = h.deps.Numbers.OrderAs(r.Context(), s.h, numbersActor(r, s), e164)
	}
	if err != nil {
		switch steeple.ErrorCode(err) {
		case steeple.ECONFLICT:
			v.Form.Errors["number"] = "this number was just taken; choose another"
		case steeple.EFORBIDDEN:
			v.Form.Errors["number"] = orderRefusal(err)
		default:
			if !h.formError(v, err, "number") {
				h.fail(w, r, v, err)
				return
			}
		}
		h.showNumbers(w, r, s, http.StatusBadRequest, numbersData{})
		return
	}
	http.Redirect(w, r, "/numbers/orders/"+o.ID, http.StatusSeeOther)
}

// orderData is one purchase's page and its polled fragment.
type orderData struct {
	O    *tenancy.NumberOrder
	Step int    // 1 ordered, 2 activated, 3 ready; 0 when it failed
	Poll string // the fragment's hx-trigger; "" once finished
}

func (h *Handler) orderData(r *http.Request, s *session) (orderData, error) {
	o, err := h.deps.Numbers.OrderOf(r.Context(), s.h.TenantID(), r.PathValue("id"))
	if err != nil {
		return orderData{}, err
	}
	d := orderData{O: o}
	switch o.Step {
	case tenancy.OrderPlacing, tenancy.OrderOrdered:
		d.Step = 1
	case tenancy.OrderActive:
		d.Step = 2
	case tenancy.OrderDone:
		d.Step = 3
	}
	if d.Step > 0 && d.Step < 3 {
		d.Poll = "every " + strconv.Itoa(pollSeconds(h.deps.Now().Sub(o.CreatedAt))) + "s [document.visibilityState=='visible']"
	}
	return d, nil
}

func (h *Handler) numberOrderPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.region = h.phoneRegion(r.Context(), s.h)
	d, err := h.orderData(r, s)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.TitleID = "numbers.order.title"
	v.Data = d
	h.render(w, r, http.StatusOK, "number_order", v)
}

// numberOrderProgress is the polled fragment: one registry read, no church
// query.
func (h *Handler) numberOrderProgress(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.region = h.phoneRegion(r.Context(), s.h)
	d, err := h.orderData(r, s)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Data = d
	h.renderFragment(w, http.StatusOK, "number_order", "order_progress", v)
}

// numberRelease explains what releasing does, then releases.
func (h *Handler) numberRelease(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.region = h.phoneRegion(r.Context(), s.h)
	n, err := h.ownNumber(r, s)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		until := v.Date(h.deps.Now().Add(h.deps.Numbers.ReleaseGrace()))
		h.confirm(w, r, v, v.T("numbers.release.question", "Number", v.Phone(n.E164), "Until", until,
			"Days", graceDays(h.deps.Numbers.ReleaseGrace())), v.T("numbers.release.button", "Number", v.Phone(n.E164)), "/numbers")
		return
	}
	if _, err := h.deps.Numbers.ReleaseAs(r.Context(), s.h, numbersActor(r, s), n.E164); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/numbers?done=released", http.StatusSeeOther)
}

func (h *Handler) numberRestore(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	n, err := h.ownNumber(r, s)
	if err == nil {
		_, err = h.deps.Numbers.RestoreAs(r.Context(), s.h, numbersActor(r, s), n.E164)
	}
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/numbers?done=restored", http.StatusSeeOther)
}

// ownNumber is the church's number named by the form, however it was
// typed. Errors: ENOTFOUND, also for another church's number.
func (h *Handler) ownNumber(r *http.Request, s *session) (*tenancy.Number, error) {
	e164, err := numbers.NormalizeNumber(r.PostForm.Get("number"))
	if err != nil {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "number not found")
	}
	return h.deps.Tenancy.Registry.ChurchNumber(r.Context(), s.h.TenantID(), e164)
}

// orderRefusal says in plain words why the church may not buy a number
// now (the API's message names API paths).
func orderRefusal(err error) string {
	msg := err.Error()
	var e *steeple.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	switch {
	case strings.Contains(msg, "10DLC"):
		return "your church may hold more numbers once its 10DLC registration is approved"
	case strings.HasPrefix(msg, "verify your email"):
		return "verify your email address first; the home page says how"
	}
	return msg
}

// titleCase writes "NEW YORK" as "New York".
func titleCase(s string) string {
	words := strings.Fields(strings.ToLower(s))
	for i, w := range words {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	return strings.Join(words, " ")
}

// numbersActor names the signed-in admin in the church's audit log.
func numbersActor(r *http.Request, s *session) numbers.Actor {
	return numbers.Actor{AdminID: s.admin.ID, IP: client(r).IP}
}

package telnyxsim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// numberState is the simulated account: messaging profiles, owned numbers and
// number orders. It is guarded by Sim.mu.
type numberState struct {
	profiles   map[string]*profile // by id
	numbers    []*ownedNumber      // in order of purchase
	orders     map[string]*order   // by id
	orderDelay time.Duration
	failOrders bool
	nextID     int64
}

func newNumberState() numberState {
	return numberState{profiles: map[string]*profile{}, orders: map[string]*order{}, nextID: 1293384261075731000}
}

type profile struct {
	ID                      string   `json:"id"`
	RecordType              string   `json:"record_type"`
	Name                    string   `json:"name"`
	Enabled                 bool     `json:"enabled"`
	WebhookURL              string   `json:"webhook_url"`
	WebhookFailoverURL      string   `json:"webhook_failover_url"`
	WebhookAPIVersion       string   `json:"webhook_api_version"`
	WhitelistedDestinations []string `json:"whitelisted_destinations"`
	CreatedAt               string   `json:"created_at"`
	UpdatedAt               string   `json:"updated_at"`
}

type ownedNumber struct {
	id, phone, profileID, customerRef string
	created                           time.Time
}

type order struct {
	id, profileID, customerRef string
	created                    time.Time
	lines                      []orderLine
	failed                     bool // reads "failure" once done; its numbers never join the account
}

type orderLine struct{ id, phone string }

// SetOrderDelay sets how long, by the sim clock, a number order stays
// "pending" (and its numbers "purchase-pending") before it reads "success".
// The answer to the order itself is always "pending".
func (s *Sim) SetOrderDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.orderDelay = d
}

// AddNumber puts a number in the account as if bought outside Steeple (in
// the provider's portal): active at once, with no messaging profile. It
// returns the number's id (the existing one if it is there already).
func (s *Sim) AddNumber(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.numberByPhoneLocked(phone); n != nil {
		return n.id
	}
	s.nextID++
	n := &ownedNumber{id: strconv.FormatInt(s.nextID, 10), phone: phone, created: s.clock().Add(-s.orderDelay)}
	s.numbers = append(s.numbers, n)
	return n.id
}

// FailOrders makes number orders placed from now on end in "failure" (the
// carrier could not fill them): pending for the order delay, then failed,
// their numbers never in the account. false restores success.
func (s *Sim) FailOrders(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failOrders = fail
}

func (s *Sim) numberByPhoneLocked(phone string) *ownedNumber {
	for _, n := range s.numbers {
		if n.phone == phone {
			return n
		}
	}
	return nil
}

func (s *Sim) numberByIDLocked(id string) *ownedNumber {
	for _, n := range s.numbers {
		if n.id == id {
			return n
		}
	}
	return nil
}

// doneLocked reports whether something ordered at created has completed.
func (s *Sim) doneLocked(created time.Time) bool {
	return !s.clock().Before(created.Add(s.orderDelay))
}

func (s *Sim) numberJSONLocked(n *ownedNumber) map[string]any {
	status := "purchase-pending"
	if s.doneLocked(n.created) {
		status = "active"
	}
	return map[string]any{
		"id": n.id, "record_type": "phone_number", "phone_number": n.phone, "status": status,
		"messaging_profile_id": nullable(n.profileID), "customer_reference": nullable(n.customerRef),
		"connection_id": nil, "tags": []string{}, "phone_number_type": "local",
		"created_at": telnyxTime(n.created), "updated_at": telnyxTime(n.created), "purchased_at": telnyxTime(n.created),
	}
}

func (s *Sim) orderJSONLocked(o *order, fresh bool) map[string]any {
	status := "success"
	switch {
	case fresh || !s.doneLocked(o.created):
		status = "pending"
	case o.failed:
		status = "failure"
	}
	lines := []map[string]any{}
	for _, l := range o.lines {
		lines = append(lines, map[string]any{"id": l.id, "record_type": "number_order_phone_number",
			"phone_number": l.phone, "status": status, "requirements_met": true})
	}
	return map[string]any{
		"id": o.id, "record_type": "number_order", "status": status, "phone_numbers": lines,
		"phone_numbers_count": len(lines), "messaging_profile_id": nullable(o.profileID),
		"customer_reference": nullable(o.customerRef), "created_at": telnyxTime(o.created),
		"updated_at": telnyxTime(o.created), "requirements_met": true,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Sim) handleOrderNumbers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PhoneNumbers []struct {
			PhoneNumber string `json:"phone_number"`
		} `json:"phone_numbers"`
		MessagingProfileID string `json:"messaging_profile_id"`
		CustomerReference  string `json:"customer_reference"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.PhoneNumbers) == 0 {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request", "phone_numbers must not be empty.", "/phone_numbers")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.MessagingProfileID != "" && s.profiles[req.MessagingProfileID] == nil {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Invalid messaging profile",
			"No messaging profile "+req.MessagingProfileID+".", "/messaging_profile_id")
		return
	}
	for _, p := range req.PhoneNumbers {
		if !nanpNumber.MatchString(p.PhoneNumber) || s.numberByPhoneLocked(p.PhoneNumber) != nil {
			writeError(w, http.StatusUnprocessableEntity, "10015", "Number not available",
				p.PhoneNumber+" cannot be ordered.", "/phone_numbers")
			return
		}
	}
	now := s.clock()
	o := &order{id: newUUID(), profileID: req.MessagingProfileID, customerRef: req.CustomerReference, created: now,
		failed: s.failOrders}
	for _, p := range req.PhoneNumbers {
		if !o.failed {
			s.nextID++
			s.numbers = append(s.numbers, &ownedNumber{id: strconv.FormatInt(s.nextID, 10), phone: p.PhoneNumber,
				profileID: req.MessagingProfileID, customerRef: req.CustomerReference, created: now})
		}
		o.lines = append(o.lines, orderLine{id: newUUID(), phone: p.PhoneNumber})
	}
	s.orders[o.id] = o
	writeData(w, s.orderJSONLocked(o, true))
}

func (s *Sim) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[r.PathValue("id")]
	if o == nil {
		writeError(w, http.StatusNotFound, "10005", "Resource not found", "No number order "+r.PathValue("id")+".", "")
		return
	}
	writeData(w, s.orderJSONLocked(o, false))
}

func (s *Sim) handleListNumbers(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter[phone_number]")
	s.mu.Lock()
	defer s.mu.Unlock()
	items := []map[string]any{}
	for _, n := range s.numbers {
		if filter == "" || strings.Contains(n.phone, strings.TrimPrefix(filter, "+")) {
			items = append(items, s.numberJSONLocked(n))
		}
	}
	writeList(w, items, map[string]any{"total_pages": 1, "total_results": len(items), "page_number": 1, "page_size": max(len(items), 20)})
}

func (s *Sim) handleGetNumber(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.ownedOr404Locked(w, r); n != nil {
		writeData(w, s.numberJSONLocked(n))
	}
}

func (s *Sim) ownedOr404Locked(w http.ResponseWriter, r *http.Request) *ownedNumber {
	n := s.numberByIDLocked(r.PathValue("id"))
	if n == nil {
		writeError(w, http.StatusNotFound, "10005", "Resource not found",
			"No phone number with id "+r.PathValue("id")+" (phone-number ids are not order ids).", "")
	}
	return n
}

func (s *Sim) handleUpdateMessaging(w http.ResponseWriter, r *http.Request) {
	var req struct {
		MessagingProfileID string `json:"messaging_profile_id"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.ownedOr404Locked(w, r)
	if n == nil {
		return
	}
	if req.MessagingProfileID != "" && s.profiles[req.MessagingProfileID] == nil {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Invalid messaging profile",
			"No messaging profile "+req.MessagingProfileID+".", "/messaging_profile_id")
		return
	}
	n.profileID = req.MessagingProfileID
	writeData(w, map[string]any{
		"id": n.id, "record_type": "messaging_phone_number", "phone_number": n.phone,
		"messaging_profile_id": nullable(n.profileID), "country_code": "US", "type": "longcode",
		"created_at": telnyxTime(n.created), "updated_at": telnyxTime(s.clock()),
	})
}

func (s *Sim) handleReleaseNumber(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.ownedOr404Locked(w, r)
	if n == nil {
		return
	}
	out := s.numberJSONLocked(n)
	out["status"] = "deleted"
	delete(s.assignments, n.phone) // a released number leaves its 10DLC campaign
	for i, m := range s.numbers {
		if m == n {
			s.numbers = append(s.numbers[:i], s.numbers[i+1:]...)
			break
		}
	}
	writeData(w, out)
}

func (s *Sim) handleCreateProfile(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name                    string   `json:"name"`
		WhitelistedDestinations []string `json:"whitelisted_destinations"`
		WebhookURL              string   `json:"webhook_url"`
		WebhookFailoverURL      string   `json:"webhook_failover_url"`
		WebhookAPIVersion       string   `json:"webhook_api_version"`
		Enabled                 *bool    `json:"enabled"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request", "name is required.", "/name")
		return
	}
	now := telnyxTime(s.clock())
	p := &profile{ID: newUUID(), RecordType: "messaging_profile", Name: req.Name, Enabled: req.Enabled == nil || *req.Enabled,
		WebhookURL: req.WebhookURL, WebhookFailoverURL: req.WebhookFailoverURL, WebhookAPIVersion: req.WebhookAPIVersion,
		WhitelistedDestinations: req.WhitelistedDestinations, CreatedAt: now, UpdatedAt: now}
	if p.WebhookAPIVersion == "" {
		p.WebhookAPIVersion = "2"
	}
	if p.WhitelistedDestinations == nil {
		p.WhitelistedDestinations = []string{}
	}
	s.mu.Lock()
	s.profiles[p.ID] = p
	s.mu.Unlock()
	writeData(w, p)
}

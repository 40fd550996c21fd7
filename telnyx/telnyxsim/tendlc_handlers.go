package telnyxsim

// The 10DLC endpoints: brands, campaigns and number assignments.

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

func (s *Sim) routeTenDLC() {
	s.mux.HandleFunc("POST /v2/10dlc/brand", s.api(s.handleCreateBrand))
	s.mux.HandleFunc("GET /v2/10dlc/brand", s.api(s.handleListBrands))
	s.mux.HandleFunc("GET /v2/10dlc/brand/{id}", s.api(s.handleGetBrand))
	s.mux.HandleFunc("PUT /v2/10dlc/brand/{id}", s.api(s.handleUpdateBrand))
	s.mux.HandleFunc("POST /v2/10dlc/campaignBuilder", s.api(s.handleCreateCampaign))
	s.mux.HandleFunc("GET /v2/10dlc/campaign", s.api(s.handleListCampaigns))
	s.mux.HandleFunc("GET /v2/10dlc/campaign/{id}", s.api(s.handleGetCampaign))
	s.mux.HandleFunc("PUT /v2/10dlc/campaign/{id}", s.api(s.handleUpdateCampaign))
	s.mux.HandleFunc("POST /v2/10dlc/phone_number_campaigns", s.api(s.handleAssignNumber))
	s.mux.HandleFunc("GET /v2/10dlc/phone_number_campaigns/{phone}", s.api(s.handleGetAssignment))
}

// required answers 422 for the first empty field of fields (name, value
// pairs) and reports whether all were set.
func required(w http.ResponseWriter, fields ...string) bool {
	for i := 0; i+1 < len(fields); i += 2 {
		if strings.TrimSpace(fields[i+1]) == "" {
			writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request", fields[i]+" is required.", "/"+fields[i])
			return false
		}
	}
	return true
}

var entityTypes = []string{"PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT", "SOLE_PROPRIETOR"}

func validBrand(w http.ResponseWriter, b brandBody) bool {
	if !required(w, "entityType", b.EntityType, "displayName", b.DisplayName, "country", b.Country,
		"email", b.Email, "vertical", b.Vertical) {
		return false
	}
	if !slices.Contains(entityTypes, b.EntityType) {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request",
			"entityType must be one of "+strings.Join(entityTypes, ", ")+".", "/entityType")
		return false
	}
	return true
}

func notFound(w http.ResponseWriter, what, id, pointer string) {
	writeError(w, http.StatusNotFound, "10005", "Resource not found", "No "+what+" "+id+".", pointer)
}

func (s *Sim) handleCreateBrand(w http.ResponseWriter, r *http.Request) {
	var req brandBody
	if !decodeBody(w, r, &req) || !validBrand(w, req) {
		return
	}
	s.mu.Lock()
	now := s.clock()
	s.regSeq++
	b := &simBrand{brandBody: req, seq: s.regSeq, id: newUUID(), created: now, updated: now}
	s.brands[b.id] = b
	run := s.submitBrandLocked(b)
	out := b.wire()
	s.mu.Unlock()
	s.launch(run) // before answering, so WaitIdle sees it
	writeJSON(w, http.StatusOK, out)
}

// handleListBrands lists the account's brands, newest first, as Telnyx
// does: filters displayName, entityType, country, state, brandId and
// tcrBrandId (exact), pages of recordsPerPage (default 10, at most 500),
// answered as {"records": […], "page", "totalRecords"} with each brand's
// summary.
func (s *Sim) handleListBrands(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, per := 1, 10
	for name, dst := range map[string]*int{"page": &page, "recordsPerPage": &per} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || (name == "recordsPerPage" && n > 500) {
				writeError(w, http.StatusUnprocessableEntity, "10002", "Invalid parameters", name+" is out of range.", "/"+name)
				return
			}
			*dst = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := sortedBySeq(s.brands, func(b *simBrand) int { return b.seq })
	slices.Reverse(all)
	records := []wireBrandSummary{}
	matched := 0
	for _, b := range all {
		if !matchesFilter(q, "displayName", b.DisplayName) || !matchesFilter(q, "entityType", b.EntityType) ||
			!matchesFilter(q, "country", b.Country) || !matchesFilter(q, "state", b.State) ||
			!matchesFilter(q, "brandId", b.id) || !matchesFilter(q, "tcrBrandId", b.tcrID) {
			continue
		}
		matched++
		if matched > (page-1)*per && len(records) < per {
			campaigns := 0
			for _, c := range s.campaigns {
				if c.BrandID == b.id {
					campaigns++
				}
			}
			records = append(records, b.summary(campaigns))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": records, "page": page, "totalRecords": matched})
}

// matchesFilter reports whether value passes the query's filter name (an
// absent filter passes everything).
func matchesFilter(q url.Values, name, value string) bool {
	v, ok := q[name]
	return !ok || len(v) == 0 || v[0] == value
}

func (s *Sim) handleGetBrand(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.brands[r.PathValue("id")]
	if b == nil {
		notFound(w, "brand", r.PathValue("id"), "")
		return
	}
	writeJSON(w, http.StatusOK, b.wire())
}

// handleUpdateBrand replaces the brand's data; a REGISTRATION_FAILED brand is
// vetted again.
func (s *Sim) handleUpdateBrand(w http.ResponseWriter, r *http.Request) {
	var req brandBody
	if !decodeBody(w, r, &req) || !validBrand(w, req) {
		return
	}
	s.mu.Lock()
	b := s.brands[r.PathValue("id")]
	if b == nil {
		s.mu.Unlock()
		notFound(w, "brand", r.PathValue("id"), "")
		return
	}
	if req.ReferenceID == "" {
		req.ReferenceID = b.ReferenceID // the customer's id stays unless replaced
	}
	b.brandBody, b.updated = req, s.clock()
	var run *registrationRun
	if b.status == "REGISTRATION_FAILED" {
		run = s.submitBrandLocked(b)
	}
	out := b.wire()
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) handleCreateCampaign(w http.ResponseWriter, r *http.Request) {
	var req campaignBody
	if !decodeBody(w, r, &req) ||
		!required(w, "brandId", req.BrandID, "usecase", req.Usecase, "description", req.Description) {
		return
	}
	s.mu.Lock()
	b := s.brands[req.BrandID]
	switch {
	case b == nil:
		s.mu.Unlock()
		notFound(w, "brand", req.BrandID, "/brandId")
		return
	case b.status != "OK":
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "10015", "Brand not registered",
			"Brand "+b.id+" is "+b.status+": a campaign needs a brand in status OK.", "/brandId")
		return
	}
	for _, c := range s.campaigns {
		if req.ReferenceID != "" && c.ReferenceID == req.ReferenceID {
			s.mu.Unlock()
			writeError(w, http.StatusUnprocessableEntity, "10015", "Duplicate referenceId",
				"Campaign "+c.id+" was submitted with referenceId "+req.ReferenceID+".", "/referenceId")
			return
		}
	}
	if req.SubUsecases == nil {
		req.SubUsecases = []string{}
	}
	if req.AutoRenewal == nil {
		on := true
		req.AutoRenewal = &on
	}
	now := s.clock()
	s.regSeq++
	c := &simCampaign{campaignBody: req, seq: s.regSeq, id: newUUID(), created: now, updated: now}
	s.campaigns[c.id] = c
	run := s.submitCampaignLocked(c, "TCR_PENDING")
	out := s.campaignWireLocked(c)
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) campaignWireLocked(c *simCampaign) wireCampaign {
	out := wireCampaign{campaignBody: c.campaignBody, CampaignID: c.id, TCRCampaignID: strPtr(c.tcrID),
		CampaignStatus: c.status, FailureReasons: strPtr(strings.Join(c.reasons, "; ")), Status: "ACTIVE",
		SubmissionStatus: "CREATED", CspID: simCspID, IsTMobileRegistered: c.status == "MNO_PROVISIONED",
		CreateDate: telnyxTime(c.created)}
	if b := s.brands[c.BrandID]; b != nil {
		out.TCRBrandID, out.BrandDisplayName = strPtr(b.tcrID), b.DisplayName
	}
	return out
}

// handleListCampaigns lists a brand's campaigns (brandId is required), as
// {"records": […], "page", "totalRecords"}; one page holds them all.
func (s *Sim) handleListCampaigns(w http.ResponseWriter, r *http.Request) {
	brand := r.URL.Query().Get("brandId")
	if brand == "" {
		writeError(w, http.StatusUnprocessableEntity, "10002", "Invalid parameters", "brandId is required.", "/brandId")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	records := []wireCampaign{}
	for _, c := range sortedBySeq(s.campaigns, func(c *simCampaign) int { return c.seq }) {
		if c.BrandID == brand {
			records = append(records, s.campaignWireLocked(c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": records, "page": 1, "totalRecords": len(records)})
}

func (s *Sim) handleGetCampaign(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.campaigns[r.PathValue("id")]
	if c == nil {
		notFound(w, "campaign", r.PathValue("id"), "")
		return
	}
	writeJSON(w, http.StatusOK, s.campaignWireLocked(c))
}

// handleUpdateCampaign edits samples and webhooks. As at Telnyx, updating a
// rejected campaign resubmits it: TELNYX_FAILED and MNO_REJECTED go back to
// TCR_ACCEPTED, TCR_FAILED to TCR_PENDING.
func (s *Sim) handleUpdateCampaign(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Sample1            string `json:"sample1"`
		Sample2            string `json:"sample2"`
		Sample3            string `json:"sample3"`
		Sample4            string `json:"sample4"`
		Sample5            string `json:"sample5"`
		WebhookURL         string `json:"webhookURL"`
		WebhookFailoverURL string `json:"webhookFailoverURL"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	c := s.campaigns[r.PathValue("id")]
	if c == nil {
		s.mu.Unlock()
		notFound(w, "campaign", r.PathValue("id"), "")
		return
	}
	setIf(&c.Sample1, req.Sample1)
	setIf(&c.Sample2, req.Sample2)
	setIf(&c.Sample3, req.Sample3)
	setIf(&c.Sample4, req.Sample4)
	setIf(&c.Sample5, req.Sample5)
	setIf(&c.WebhookURL, req.WebhookURL)
	setIf(&c.WebhookFailoverURL, req.WebhookFailoverURL)
	c.updated = s.clock()
	var run *registrationRun
	switch c.status {
	case "TCR_FAILED":
		run = s.submitCampaignLocked(c, "TCR_PENDING")
	case "TELNYX_FAILED", "MNO_REJECTED":
		run = s.submitCampaignLocked(c, "TCR_ACCEPTED")
	}
	out := s.campaignWireLocked(c)
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

// setIf sets *dst to v unless v is empty (a field left out of an update).
func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func (s *Sim) handleAssignNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PhoneNumber string `json:"phoneNumber"`
		CampaignID  string `json:"campaignId"`
	}
	if !decodeBody(w, r, &req) || !required(w, "phoneNumber", req.PhoneNumber, "campaignId", req.CampaignID) {
		return
	}
	if !isE164(req.PhoneNumber) {
		writeError(w, http.StatusUnprocessableEntity, "10015", "Bad Request",
			"phoneNumber must be in E.164 format.", "/phoneNumber")
		return
	}
	s.mu.Lock()
	if s.campaigns[req.CampaignID] == nil {
		s.mu.Unlock()
		notFound(w, "campaign", req.CampaignID, "/campaignId")
		return
	}
	if a := s.assignments[req.PhoneNumber]; a != nil && a.status != "FAILED_ASSIGNMENT" {
		s.mu.Unlock()
		writeError(w, http.StatusUnprocessableEntity, "10015", "Phone number already assigned",
			req.PhoneNumber+" is "+a.status+" to campaign "+a.campaignID+".", "/phoneNumber")
		return
	}
	now := s.clock()
	s.regSeq++
	a := &simAssignment{seq: s.regSeq, phone: req.PhoneNumber, campaignID: req.CampaignID, created: now, updated: now}
	s.assignments[a.phone] = a
	run := s.submitAssignmentLocked(a)
	out := s.assignmentWireLocked(a)
	s.mu.Unlock()
	s.launch(run)
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) assignmentWireLocked(a *simAssignment) wireAssignment {
	out := wireAssignment{PhoneNumber: a.phone, CampaignID: a.campaignID, TelnyxCampaignID: a.campaignID,
		AssignmentStatus: a.status, FailureReasons: strPtr(strings.Join(a.reasons, "; ")),
		CreatedAt: telnyxTime(a.created), UpdatedAt: telnyxTime(a.updated)}
	if c := s.campaigns[a.campaignID]; c != nil {
		out.BrandID, out.TCRCampaignID = c.BrandID, strPtr(c.tcrID)
		if b := s.brands[c.BrandID]; b != nil {
			out.TCRBrandID = strPtr(b.tcrID)
		}
	}
	return out
}

func (s *Sim) handleGetAssignment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assignments[r.PathValue("phone")]
	if a == nil {
		notFound(w, "phone number campaign for", r.PathValue("phone"), "")
		return
	}
	writeJSON(w, http.StatusOK, s.assignmentWireLocked(a))
}

package telnyxsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// area is one US area code of the fake inventory.
type area struct{ code, locality, state string }

// areas are the area codes searched when the caller names none. Any other
// valid area code can still be asked for by filter[national_destination_code].
var areas = []area{
	{"312", "CHICAGO", "IL"}, {"773", "CHICAGO", "IL"}, {"212", "NEW YORK", "NY"},
	{"415", "SAN FRANCISCO", "CA"}, {"512", "AUSTIN", "TX"}, {"214", "DALLAS", "TX"},
	{"615", "NASHVILLE", "TN"}, {"901", "MEMPHIS", "TN"}, {"404", "ATLANTA", "GA"},
	{"303", "DENVER", "CO"}, {"206", "SEATTLE", "WA"}, {"617", "BOSTON", "MA"},
}

// candidatesPerArea is how many distinct numbers each area code offers.
const candidatesPerArea = 800

// candidate returns the i-th number of an area code (0 <= i < 800): the
// exchange walks all 800 valid exchanges (37 is prime to 800), so numbers
// never repeat, and the line number is scrambled to look random.
func candidate(code string, i int) string {
	ac, _ := strconv.Atoi(code)
	exchange := 200 + (i*37+ac)%800
	line := (i*7919 + ac*31) % 10000
	return fmt.Sprintf("+1%s%03d%04d", code, exchange, line)
}

func (s *Sim) handleSearchNumbers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 10
	if v := q.Get("filter[limit]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "10015", "Bad Request", "filter[limit] must be a positive integer.", "")
			return
		}
		limit = min(n, 100)
	}
	searchAreas := areas
	if ndc := q.Get("filter[national_destination_code]"); ndc != "" {
		searchAreas = nil
		if nationalDestRe.MatchString(ndc) {
			searchAreas = []area{{code: ndc}}
			for _, a := range areas {
				if a.code == ndc {
					searchAreas = []area{a}
				}
			}
		}
	}
	if !searchable(q) {
		searchAreas = nil
	}
	contains := digitsFilter(q.Get("filter[phone_number][contains]"))
	starts := digitsFilter(q.Get("filter[phone_number][starts_with]"))
	ends := digitsFilter(q.Get("filter[phone_number][ends_with]"))
	locality := q.Get("filter[locality]")
	state := q.Get("filter[administrative_area]")

	s.mu.Lock()
	defer s.mu.Unlock()
	items := []map[string]any{}
	for _, a := range searchAreas {
		if (locality != "" && !strings.EqualFold(locality, a.locality)) || (state != "" && !strings.EqualFold(state, a.state)) {
			continue
		}
		for i := 0; i < candidatesPerArea && len(items) < limit; i++ {
			num := candidate(a.code, i)
			national := num[2:] // without "+1"
			if !strings.Contains(num, contains) ||
				!(strings.HasPrefix(num[1:], starts) || strings.HasPrefix(national, starts)) ||
				!strings.HasSuffix(num, ends) || s.numberByPhoneLocked(num) != nil {
				continue
			}
			items = append(items, availableJSON(num, a))
		}
	}
	writeList(w, items, map[string]any{"total_results": len(items), "best_effort_results": 0})
}

// searchable reports whether the filters that the inventory does not vary on
// allow any result: US local numbers with sms, mms and voice.
func searchable(q map[string][]string) bool {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if cc := get("filter[country_code]"); cc != "" && !strings.EqualFold(cc, "US") {
		return false
	}
	if t := get("filter[phone_number_type]"); t != "" && t != "local" {
		return false
	}
	for _, f := range strings.Split(get("filter[features]"), ",") {
		switch strings.TrimSpace(strings.ToLower(f)) {
		case "", "sms", "mms", "voice":
		default:
			return false
		}
	}
	return true
}

// digitsFilter normalizes a phone-number filter to bare digits; a filter with
// anything else matches nothing.
func digitsFilter(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "+")
	if v != "" && !digitsOnlyRe.MatchString(v) {
		return "no match"
	}
	return v
}

func availableJSON(num string, a area) map[string]any {
	regions := []map[string]string{{"region_type": "country_code", "region_name": "US"}}
	if a.locality != "" {
		regions = append(regions,
			map[string]string{"region_type": "rate_center", "region_name": a.locality},
			map[string]string{"region_type": "state", "region_name": a.state},
			map[string]string{"region_type": "location", "region_name": a.locality + ", " + a.state})
	}
	return map[string]any{
		"record_type":   "available_phone_number",
		"phone_number":  num,
		"vanity_format": nil,
		"best_effort":   false,
		"quickship":     true,
		"reservable":    true,
		"features":      []map[string]string{{"name": "sms"}, {"name": "mms"}, {"name": "voice"}},
		"cost_information": map[string]string{
			"upfront_cost": "1.00", "monthly_cost": "1.00", "currency": "USD",
		},
		"region_information": regions,
	}
}

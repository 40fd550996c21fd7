package httpapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/steeple-sms/steeple"
)

// onlyParams refuses query parameters an endpoint does not know, naming
// them and the ones it does: a filter silently ignored would show the
// wrong list as if it were the right one.
func onlyParams(r *http.Request, known ...string) error {
	var unknown []string
	for name := range r.URL.Query() {
		ok := false
		for _, k := range known {
			ok = ok || k == name
		}
		if !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	fields := map[string]string{}
	for _, u := range unknown {
		fields[u] = "is not a query parameter here (known: " + strings.Join(known, ", ") + ")"
	}
	return &steeple.Error{Code: steeple.EINVALID, Message: "unknown query parameter " + strings.Join(unknown, ", "), Fields: fields}
}

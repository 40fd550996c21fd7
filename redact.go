package steeple

import "net/url"

// RedactURL is a URL fit for messages and logs: its password hidden.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

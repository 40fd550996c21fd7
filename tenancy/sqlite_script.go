package tenancy

import "strings"

// isScript reports whether query holds more than one statement: a
// semicolon outside comments, quotes and identifiers, with more than
// blanks and comments after it. A semicolon inside a comment does not
// count: River's completion statement carries one, and taken for a script
// it was parsed again (about 0.2 ms) for every job completed, inside the
// transaction that holds the registry's one writer (docs/benchmarks.md,
// ninth pass).
func isScript(query string) bool {
	ended := false // a statement has ended: anything more to run makes a script
	for i := 0; i < len(query); i++ {
		switch c := query[i]; {
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			i = skipTo(query, i+2, "\n")
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			i = skipTo(query, i+2, "*/")
		case c == ';':
			ended = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
		case ended:
			return true
		case c == '\'' || c == '"' || c == '`':
			// A doubled quote inside ends one quoted run and starts the
			// next, which comes to the same.
			i = skipTo(query, i+1, string(c))
		case c == '[':
			i = skipTo(query, i+1, "]")
		}
	}
	return false
}

// skipTo returns the index of the last byte of the first end at or after
// from, or the end of s when there is none.
func skipTo(s string, from int, end string) int {
	if k := strings.Index(s[from:], end); k >= 0 {
		return from + k + len(end) - 1
	}
	return len(s)
}

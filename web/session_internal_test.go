package web

import (
	"io/fs"
	"strings"
	"testing"
)

// safeNext keeps destinations on this site: browsers strip tabs and
// newlines and read a backslash as a slash, so each of these would leave.
func TestSafeNextRefusesOffSite(t *testing.T) {
	for _, bad := range []string{"", "//evil.example", "/\\evil.example", "/%09/evil.example", "/\t/evil.example",
		"/%0a/evil.example", "/%2F/evil.example", "https://evil.example/", "http:/evil.example", "evil.example",
		"/\\/evil.example", "\\\\evil.example", "/a\\b", "javascript:alert(1)", "/%5c/evil.example", "//", " /x"} {
		if got := safeNext(bad); got != "/" {
			t.Errorf("safeNext(%q) = %q, want /", bad, got)
		}
	}
	for in, want := range map[string]string{"/": "/", "/messages/abc": "/messages/abc",
		"/members?page=2&q=ann": "/members?page=2&q=ann", "/a%20b": "/a%20b"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// The language picker changes the page only from its button (WCAG 3.2.2:
// no change of context on input).
func TestLanguagePickerSubmitsOnlyOnItsButton(t *testing.T) {
	for _, f := range []string{"templates/layout.html"} {
		b, _ := fs.ReadFile(templateFS, f)
		if strings.Contains(string(b), "autosubmit") {
			t.Fatalf("%s: the language picker still submits on change", f)
		}
	}
	b, _ := fs.ReadFile(staticFS, "static/app.js")
	if strings.Contains(string(b), "requestSubmit") || strings.Contains(string(b), `"change"`) {
		t.Fatal("app.js still submits a form on change")
	}
}

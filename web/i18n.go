package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages the web app speaks; the first is the default.
var Languages = []string{"en", "es"}

// translator holds the message files.
type translator struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	locs    map[string]*i18n.Localizer
}

func loadTranslator() (*translator, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	tags := []language.Tag{}
	t := &translator{bundle: b, locs: map[string]*i18n.Localizer{}}
	for _, l := range Languages {
		raw, err := localeFS.ReadFile("locales/" + l + ".json")
		if err != nil {
			return nil, err
		}
		if _, err := b.ParseMessageFileBytes(raw, l+".json"); err != nil {
			return nil, fmt.Errorf("web: locale %s: %w", l, err)
		}
		tags = append(tags, language.Make(l))
		t.locs[l] = i18n.NewLocalizer(b, l, "en")
	}
	t.matcher = language.NewMatcher(tags)
	return t, nil
}

// supported reports whether lang is one of Languages.
func supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// langCookie remembers the language picked before signing in.
const langCookie = "steeple_lang"

// browserLanguage picks a language before sign-in: the picker's cookie,
// then Accept-Language, then English.
func (t *translator) browserLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && supported(c.Value) {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return Languages[0]
	}
	_, i, conf := t.matcher.Match(tags...)
	if conf == language.No {
		return Languages[0]
	}
	return Languages[i]
}

// text translates a message id; args are name, value pairs for the
// message's template ({{.Name}}). An unknown id shows as itself, so a
// missing translation is visible but harmless.
func (t *translator) text(lang, id string, args ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		data[fmt.Sprint(args[i])] = args[i+1]
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	if n, ok := data["Count"]; ok {
		cfg.PluralCount = n
	}
	loc := t.locs[lang]
	if loc == nil {
		loc = t.locs["en"]
	}
	s, err := loc.Localize(cfg)
	if err != nil || s == "" {
		return id
	}
	return s
}

// serviceMessage translates a message from a service (a validation message
// or an error's message); one without a translation is shown as it is.
func (t *translator) serviceMessage(lang, msg string) string {
	if msg == "" {
		return ""
	}
	id := "svc." + msg
	if s := t.text(lang, id); s != id {
		return s
	}
	return msg
}

var monthsES = []string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"}

// formatTime shows a moment in the church's timezone, always labelled with
// the zone, in the reader's language.
func formatTime(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if lang == "es" {
		return fmt.Sprintf("%d %s %d, %s %s", t.Day(), monthsES[t.Month()-1], t.Year(), t.Format("15:04"), t.Format("MST"))
	}
	return t.Format("Jan 2, 2006, 3:04 PM MST")
}

// formatDate shows a day in the church's timezone.
func formatDate(lang string, t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if lang == "es" {
		return fmt.Sprintf("%d %s %d", t.Day(), monthsES[t.Month()-1], t.Year())
	}
	return t.Format("Jan 2, 2006")
}

// formatNumber groups thousands (1,624 in English, 1.624 in Spanish).
func formatNumber(lang string, n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if lang == "es" {
		sep = "."
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

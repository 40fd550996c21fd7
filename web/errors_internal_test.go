package web

import (
	"encoding/json"
	"testing"

	"github.com/steeple-sms/steeple"
)

// Every error code has one page, and its title and text exist in every
// language; every English message has a Spanish one.
func TestErrorPagesAndTranslations(t *testing.T) {
	tr, err := loadTranslator()
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{steeple.ECONFLICT, steeple.EINTERNAL, steeple.EINVALID, steeple.ENOTFOUND, steeple.EUNAUTHORIZED,
		steeple.EFORBIDDEN, steeple.EUNAVAILABLE, steeple.ETOOMANY, steeple.ESUSPENDED, steeple.ESCHEMA, steeple.ETOOLARGE} {
		p, ok := pageOf[code]
		if !ok {
			t.Errorf("no error page for %s", code)
			continue
		}
		for _, lang := range Languages {
			for _, id := range []string{p.titleID, p.textID} {
				if tr.text(lang, id) == id {
					t.Errorf("%s: no %s message %s", code, lang, id)
				}
			}
		}
	}
	ids := map[string]map[string]any{}
	for _, lang := range Languages {
		raw, _ := localeFS.ReadFile("locales/" + lang + ".json")
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		ids[lang] = m
	}
	for id := range ids["en"] {
		for _, lang := range Languages {
			if _, ok := ids[lang][id]; !ok {
				t.Errorf("%s lacks %s", lang, id)
			}
		}
	}
}

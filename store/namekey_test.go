package store

import (
	"os"
	"strings"
	"testing"
)

// Migration 00015 rewrote earlier name keys with SQL REPLACEs; they must
// fold exactly as FoldName does for new and edited members, or a search
// would find a member only after an edit.
func TestNameFoldMatchesMigration(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		b, err := os.ReadFile("migrations/" + d + "/00015_member_search_consent.sql")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "UPDATE members SET name_key = "+nameFoldSQL("name_key")+";") {
			t.Errorf("%s: migration 00015 does not fold name_key with nameFolds", d)
		}
	}
	for in, want := range map[string]string{"Zoë  Brontë": "zoe bronte", "JOSÉ Núñez": "jose nunez", "Łukasz Øster": "lukasz oster"} {
		if got := FoldName(in); got != want {
			t.Errorf("FoldName(%q) = %q; want %q", in, got, want)
		}
	}
}

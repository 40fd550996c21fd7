package store

import "strings"

// nameFolds maps lower-case accented Latin letters to their plain form, so
// that a search for "zoe" finds "Zoë" and "jose" finds "José". Migration
// 00015 rewrote earlier name keys with the same table (as SQL REPLACEs);
// TestNameFoldMatchesMigration keeps the two in step.
var nameFolds = []struct{ from, to string }{
	{"á", "a"}, {"à", "a"}, {"â", "a"}, {"ä", "a"}, {"ã", "a"}, {"å", "a"}, {"ā", "a"}, {"ą", "a"},
	{"æ", "ae"}, {"ç", "c"}, {"č", "c"}, {"ć", "c"}, {"ď", "d"}, {"ð", "d"},
	{"é", "e"}, {"è", "e"}, {"ê", "e"}, {"ë", "e"}, {"ē", "e"}, {"ę", "e"}, {"ě", "e"},
	{"í", "i"}, {"ì", "i"}, {"î", "i"}, {"ï", "i"}, {"ī", "i"}, {"ł", "l"},
	{"ñ", "n"}, {"ń", "n"}, {"ň", "n"},
	{"ó", "o"}, {"ò", "o"}, {"ô", "o"}, {"ö", "o"}, {"õ", "o"}, {"ø", "o"}, {"ō", "o"}, {"ő", "o"}, {"œ", "oe"},
	{"ř", "r"}, {"ś", "s"}, {"š", "s"}, {"ß", "ss"}, {"ť", "t"}, {"þ", "th"},
	{"ú", "u"}, {"ù", "u"}, {"û", "u"}, {"ü", "u"}, {"ū", "u"}, {"ů", "u"}, {"ű", "u"},
	{"ý", "y"}, {"ÿ", "y"}, {"ž", "z"}, {"ź", "z"}, {"ż", "z"},
}

var nameFolder = func() *strings.Replacer {
	pairs := make([]string, 0, 2*len(nameFolds))
	for _, f := range nameFolds {
		pairs = append(pairs, f.from, f.to)
	}
	return strings.NewReplacer(pairs...)
}()

// FoldName is the search form of a name: lower case, accents removed,
// spaces collapsed.
func FoldName(s string) string {
	return nameFolder.Replace(strings.Join(strings.Fields(strings.ToLower(s)), " "))
}

// nameKey is a member's sort and search key.
func nameKey(first, last string) string { return FoldName(first + " " + last) }

// nameFoldSQL is the SQL expression folding column the way FoldName folds
// an already lower-cased string (used by migration 00015; kept here so a
// test can compare them).
func nameFoldSQL(column string) string {
	expr := column
	for _, f := range nameFolds {
		expr = "REPLACE(" + expr + ", '" + f.from + "', '" + f.to + "')"
	}
	return expr
}

package auth

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"sort"
	"strings"
	"sync"
)

// common-passwords.txt.gz holds over 400,000 breached and common passwords,
// lower-cased and sorted; common-passwords.md beside it says where they come
// from and under which licence.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

// passwordList is the decompressed list: one string and the offset of each
// line, sorted, so a lookup is a binary search and the list costs about
// 5 MiB, not the 30 MiB a map of 400,000 strings would.
type passwordList struct {
	text  string
	lines []uint32 // start of each line in text
}

var (
	commonOnce sync.Once
	commonList *passwordList
)

// commonPasswords decompresses the embedded list on first use.
func commonPasswords() *passwordList {
	commonOnce.Do(func() {
		l, err := loadPasswordList(commonPasswordsGz)
		if err != nil {
			panic("auth: the embedded password list is corrupt: " + err.Error())
		}
		commonList = l
	})
	return commonList
}

func loadPasswordList(gz []byte) (*passwordList, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	l := &passwordList{text: string(raw)}
	for i := 0; i < len(l.text); {
		l.lines = append(l.lines, uint32(i))
		n := strings.IndexByte(l.text[i:], '\n')
		if n < 0 {
			break
		}
		i += n + 1
	}
	if !sort.SliceIsSorted(l.lines, func(a, b int) bool { return l.line(a) < l.line(b) }) {
		sort.Slice(l.lines, func(a, b int) bool { return l.line(a) < l.line(b) })
	}
	return l, nil
}

// line returns the i-th entry without its newline.
func (l *passwordList) line(i int) string {
	s := l.text[l.lines[i]:]
	if n := strings.IndexByte(s, '\n'); n >= 0 {
		s = s[:n]
	}
	return s
}

// Len is the number of entries.
func (l *passwordList) Len() int { return len(l.lines) }

// contains tells whether s (already lower-cased) is in the list.
func (l *passwordList) contains(s string) bool {
	i := sort.Search(len(l.lines), func(i int) bool { return l.line(i) >= s })
	return i < len(l.lines) && l.line(i) == s
}

// isCommonPassword tells whether pw, ignoring case, is a listed password,
// or is a listed word of four or more letters decorated with digits and
// symbols ("Password123!" is "password").
func isCommonPassword(pw string) bool {
	l := commonPasswords()
	p := strings.ToLower(pw)
	if l.contains(p) {
		return true
	}
	base := strings.ToLower(trimDecoration(pw))
	return len(base) >= 4 && base != p && l.contains(base)
}

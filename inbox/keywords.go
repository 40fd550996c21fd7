package inbox

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// KeywordKey is the form a keyword is matched in: accents and case folded,
// anything but letters and digits taken as a space, spaces collapsed.
// "Connect!", " connect 🙏" and "CONNECT" are one key; so are "Jóvenes"
// and "JOVENES".
func KeywordKey(text string) string {
	folded := store.FoldName(text)
	fields := strings.FieldsFunc(folded, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.ToUpper(strings.Join(fields, " "))
}

// reservedWords are the carriers' and Steeple's own keywords (opt-out,
// opt-in and help, in English and Spanish): a church keyword may not be one.
var reservedWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
	"ALTO", "PARAR", "CANCELAR", "BAJA", "START", "UNSTOP", "YES", "HELP", "INFO", "AYUDA"}

func reserved(key string) bool {
	joined := strings.ReplaceAll(key, " ", "")
	for _, w := range reservedWords {
		if joined == w {
			return true
		}
	}
	return false
}

// KeywordRequest creates or replaces a keyword.
type KeywordRequest struct {
	Word         string `json:"word"`
	GroupID      string `json:"group_id"`
	Reply        string `json:"reply"`
	Resubscribes bool   `json:"resubscribes"`
	ConnectCard  bool   `json:"connect_card"`
}

// maxKeywordReply keeps a keyword's answer, with the church name and the
// opt-in notice, within three parts.
const maxKeywordReply = 300

func (r KeywordRequest) input() (store.KeywordInput, error) {
	word := strings.Join(strings.Fields(r.Word), " ")
	key := KeywordKey(word)
	switch {
	case key == "":
		return store.KeywordInput{}, steeple.FieldError("word", "is required: a word people text, such as CONNECT")
	case utf8.RuneCountInString(word) > 20 || strings.Count(key, " ") > 2:
		return store.KeywordInput{}, steeple.FieldError("word", "must be at most 20 characters and 3 words")
	case reserved(key):
		return store.KeywordInput{}, steeple.FieldError("word", "is reserved for opting out, opting in or help; choose another word")
	case utf8.RuneCountInString(r.Reply) > maxKeywordReply:
		return store.KeywordInput{}, steeple.FieldError("reply", "must be at most 300 characters")
	case r.GroupID != "" && !steeple.ValidID(r.GroupID):
		return store.KeywordInput{}, steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	return store.KeywordInput{Word: strings.ToUpper(word), Key: key, GroupID: r.GroupID, Reply: strings.TrimSpace(r.Reply),
		Resubscribes: r.Resubscribes, ConnectCard: r.ConnectCard}, nil
}

// CreateKeyword adds a keyword; owners and admins only, audited.
// Errors: EFORBIDDEN, EINVALID, ECONFLICT, ENOTFOUND (group).
func (s *Service) CreateKeyword(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, r KeywordRequest, ip string) (*steeple.Keyword, error) {
	if err := steeple.RequireManager(admin); err != nil {
		return nil, err
	}
	in, err := r.input()
	if err != nil {
		return nil, err
	}
	k, err := s.store.CreateKeyword(ctx, h, in)
	if err != nil {
		return nil, err
	}
	return k, s.auditKeyword(ctx, h, admin, "keyword.created", k, ip)
}

// UpdateKeyword replaces a keyword's fields. Errors: as CreateKeyword.
func (s *Service) UpdateKeyword(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, id string, r KeywordRequest, ip string) (*steeple.Keyword, error) {
	if err := steeple.RequireManager(admin); err != nil {
		return nil, err
	}
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "keyword not found")
	}
	in, err := r.input()
	if err != nil {
		return nil, err
	}
	k, err := s.store.UpdateKeyword(ctx, h, id, in)
	if err != nil {
		return nil, err
	}
	return k, s.auditKeyword(ctx, h, admin, "keyword.updated", k, ip)
}

// DeleteKeyword removes a keyword (its members stay). Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) DeleteKeyword(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, id, ip string) error {
	if err := steeple.RequireManager(admin); err != nil {
		return err
	}
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "keyword not found")
	}
	k, err := s.store.DeleteKeyword(ctx, h, id)
	if err != nil {
		return err
	}
	return s.auditKeyword(ctx, h, admin, "keyword.deleted", k, ip)
}

func (s *Service) auditKeyword(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, action string, k *steeple.Keyword, ip string) error {
	return s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: action, Target: k.ID, IP: ip, Detail: k.Word})
}

// Keywords lists the church's keywords.
func (s *Service) Keywords(ctx context.Context, h *tenancy.Handle) ([]*steeple.Keyword, error) {
	return s.store.Keywords(ctx, h)
}

// KeywordWeeks is how many weeks a keyword's report covers, this one last.
const KeywordWeeks = 12

// KeywordReport is a keyword with its joins per week (Sunday to Sunday in
// the church's timezone) and its latest members.
type KeywordReport struct {
	*steeple.Keyword
	Weeks  []KeywordWeek         `json:"weeks"`
	Latest []store.KeywordMember `json:"latest"`
}

// KeywordWeek is one week's joins.
type KeywordWeek struct {
	Start time.Time `json:"start"`
	Joins int       `json:"joins"`
}

// Keyword returns a keyword's report. Errors: ENOTFOUND.
func (s *Service) Keyword(ctx context.Context, h *tenancy.Handle, id string) (*KeywordReport, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "keyword not found")
	}
	k, err := s.store.Keyword(ctx, h, id)
	if err != nil {
		return nil, err
	}
	loc := messaging.ChurchLocation(h)
	bounds := messaging.WeekBounds(s.cfg.Now(), loc, KeywordWeeks)
	times, err := s.store.KeywordJoinTimes(ctx, h, id, bounds[0])
	if err != nil {
		return nil, err
	}
	r := &KeywordReport{Keyword: k, Weeks: make([]KeywordWeek, KeywordWeeks)}
	for i := range r.Weeks {
		r.Weeks[i].Start = bounds[i].In(loc)
		for _, at := range times {
			if !at.Before(bounds[i]) && at.Before(bounds[i+1]) {
				r.Weeks[i].Joins++
			}
		}
	}
	if r.Latest, err = s.store.LatestKeywordJoins(ctx, h, id, 10); err != nil {
		return nil, err
	}
	return r, nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Message directions and flags (conversation statuses are
// steeple.ConversationStatus).
const (
	DirectionInbound   = "inbound"
	DirectionOutbound  = "outbound"
	FlagPossibleOptOut = "possible_opt_out"
	// PurposeReply is an admin's reply; automatic answers name the keyword
	// they answer (stop, start, help).
	PurposeReply = "reply"
	// PurposeWelcome marks a welcome text (held for quiet hours).
	PurposeWelcome = "welcome"
	// PurposeClarify marks the one text asking a contact whose words read
	// like an opt-out to reply STOP (held for quiet hours too).
	PurposeClarify = "clarify"
	// PurposeBroadcast marks a broadcast shown in a thread.
	PurposeBroadcast = "broadcast"
	// CreatedBySystem marks automatic answers.
	CreatedBySystem = "system"
	// Keywords a whole inbound text may be (see the inbox package).
	KeywordStop  = "stop"
	KeywordStart = "start"
	KeywordHelp  = "help"
	// KeywordJoin marks a text-to-join keyword; KeywordName the name a
	// connect card asked for.
	KeywordJoin = "join"
	KeywordName = "name"
)

// Media is one attachment of an MMS, kept as the provider's URL.
type Media struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty"`
}

// ConversationMember names the member a conversation is with.
type ConversationMember struct {
	ID            string `json:"id"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	ConsentStatus string `json:"consent_status"`
}

// LastMessage summarises a conversation's newest message.
type LastMessage struct {
	At        time.Time `json:"at"`
	Preview   string    `json:"preview"`
	Direction string    `json:"direction"`
}

// Conversation is one thread of the inbox, with a member or with an
// unknown contact (Member nil).
type Conversation struct {
	ID           string                     `json:"id"`
	Phone        string                     `json:"phone"`
	Member       *ConversationMember        `json:"member"`
	ChurchNumber string                     `json:"church_number"`
	Status       steeple.ConversationStatus `json:"status"`
	Unread       int                        `json:"unread"`
	Flagged      bool                       `json:"flagged"`
	OptedOut     bool                       `json:"opted_out"`
	// NeedsReply: the newest text is the contact's, not yet answered.
	NeedsReply bool `json:"needs_reply"`
	// AssigneeID is the admin looking after the conversation ("" for none).
	AssigneeID  string      `json:"assignee_id"`
	LastMessage LastMessage `json:"last_message"`
	CreatedAt   time.Time   `json:"created_at"`
}

// ConversationMessage is one text in a thread.
type ConversationMessage struct {
	ID          string                  `json:"id"`
	Direction   string                  `json:"direction"`
	Body        string                  `json:"body"`
	Media       []Media                 `json:"media"`
	Keyword     string                  `json:"keyword,omitempty"`
	Flag        string                  `json:"flag,omitempty"`
	Purpose     string                  `json:"purpose,omitempty"`
	Status      steeple.RecipientStatus `json:"status"`
	ErrorCode   string                  `json:"error_code,omitempty"`
	ErrorDetail string                  `json:"error_detail,omitempty"`
	CreatedBy   string                  `json:"created_by,omitempty"`
	CreatedAt   time.Time               `json:"created_at"`
	SentAt      *time.Time              `json:"sent_at,omitempty"`
	FinishedAt  *time.Time              `json:"finished_at,omitempty"`
	// BroadcastID names the broadcast a thread entry is (its purpose is
	// "broadcast"; the entry's id is the broadcast's).
	BroadcastID string `json:"broadcast_id,omitempty"`
	// CreatedAtLocal is CreatedAt in the church's timezone (RFC 3339),
	// filled in by the inbox.
	CreatedAtLocal string `json:"created_at_local,omitempty"`
}

// InboundText is a text received from outside, ready to store.
type InboundText struct {
	ProviderID   string // the provider's message id: a text is stored once
	From         string // the sender, E.164
	ChurchNumber string // the church's number it was sent to
	Body         string
	Media        []Media
	Keyword      string      // "stop", "start", "help" when the whole text was one
	Flag         string      // FlagPossibleOptOut
	Wording      string      // recorded with a keyword's consent change
	Join         *Join       // a text-to-join keyword (Keyword is KeywordJoin)
	Name         *NameAnswer // the answer to a connect card (Keyword is KeywordName)
	// ReceivedUS is when the provider received the text (microseconds; 0
	// unknown): a STOP or START older than one applied already changes no
	// consent (texts can be applied out of order).
	ReceivedUS int64
	// laterKeyword is set by ApplyInbound when that is so.
	laterKeyword bool
	// Clarify, for a flagged text, is the one "Reply STOP" text of the flag:
	// stored only if the conversation has had none since its flag was last
	// cleared and its phone may be texted.
	Clarify *OutboundDraft
}

// OutboundDraft is a text to send in a conversation. ID is chosen by the
// caller, which records the dispatch intent before the draft is committed.
type OutboundDraft struct {
	ID, Body, Purpose, CreatedBy string
	MediaURLs                    []string
}

// InboundResult says what storing an inbound text did.
type InboundResult struct {
	Duplicate      bool // the text was stored before; nothing changed
	ConversationID string
	MessageID      string
	MemberID       string // "" for an unknown contact
	ConsentChanged bool
	Joined         *Joined // what a text-to-join keyword did
	Clarified      bool    // in.Clarify was stored
	AnswerSkipped  bool    // the answer was not stored: a later STOP or START was applied already
}

// ApplyInbound stores an inbound text in one transaction: it finds the
// sender's member by the phone blind index, opens (or reopens) the
// conversation, raises its unread count, applies a STOP or START keyword to
// the member's consent (or the unknown contact's), and adds the automatic
// answer, if any, as a queued outbound message. A text already stored
// (same provider id) changes nothing.
func (s *Store) ApplyInbound(ctx context.Context, h *tenancy.Handle, in InboundText, answer *OutboundDraft) (*InboundResult, error) {
	res := &InboundResult{}
	now := s.Now()
	nowUS := now.UnixMicro()
	media, err := json.Marshal(nonNilMedia(in.Media))
	if err != nil {
		return nil, err
	}
	err = h.InTx(ctx, func(tx *sql.Tx) error {
		hash, err := s.adoptPhone(ctx, tx, in.From)
		if err != nil {
			return err
		}
		var memberID sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT id FROM members WHERE phone_hash = $1 ORDER BY created_at, id LIMIT 1`,
			hash).Scan(&memberID); err != nil && err != sql.ErrNoRows {
			return err
		}
		res.MemberID = memberID.String
		convID, err := s.conversationFor(ctx, tx, hash, in.From, in.ChurchNumber, memberID, nowUS, now)
		if err != nil {
			return err
		}
		res.ConversationID, res.MessageID = convID, steeple.NewID()
		r, err := tx.ExecContext(ctx, `INSERT INTO conversation_messages (id, conversation_id, direction, body, media, keyword, flag,
			status, provider_id, created_us) VALUES ($1, $2, 'inbound', $3, $4, $5, $6, 'received', $7, $8)
			ON CONFLICT (provider_id) DO NOTHING`,
			res.MessageID, convID, in.Body, string(media), in.Keyword, in.Flag, in.ProviderID, nowUS)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res.Duplicate = true
			return errDuplicate
		}
		if in.consentKeyword() || in.Join != nil {
			// Reading the row after conversationFor's UPDATE of it: on
			// PostgreSQL the row is locked, so two texts of the phone
			// being applied at once take turns here.
			if in.laterKeyword, err = laterKeyword(ctx, tx, convID, in.ReceivedUS); err != nil {
				return err
			}
		}
		flagged := in.Flag != ""
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET unread = unread + 1, status = 'open',
			flagged = (flagged OR $1), last_message_us = $2, last_inbound_us = $2, last_preview = $3, last_direction = 'inbound',
			needs_reply = (needs_reply OR $6), updated_at = $4 WHERE id = $5`,
			flagged, nowUS, preview(in.Body, len(in.Media)), now, convID, in.Keyword == ""); err != nil {
			return err
		}
		if res.ConsentChanged, err = s.applyKeyword(ctx, tx, in, convID, memberID, now); err != nil {
			return err
		}
		if in.Join != nil {
			if res.Joined, err = s.applyJoin(ctx, tx, in, convID, memberID, now); err != nil {
				return err
			}
			res.MemberID, res.ConsentChanged = res.Joined.MemberID, res.Joined.NewMember || res.Joined.Resubscribed
		}
		if in.Name != nil {
			if err := s.applyName(ctx, tx, hash, *in.Name, now); err != nil {
				return err
			}
		}
		// A STOP or START that changed nothing (a later one was applied)
		// is not confirmed: its confirmation would contradict the later one.
		res.AnswerSkipped = answer != nil && in.laterKeyword && in.consentKeyword()
		if answer != nil && !res.AnswerSkipped {
			if err := s.insertOutbound(ctx, tx, convID, *answer, nowUS+1, now); err != nil {
				return err
			}
		}
		if in.Clarify != nil && flagged {
			res.Clarified, err = s.clarifyTx(ctx, tx, convID, *in.Clarify, nowUS+2, now)
		}
		return err
	})
	if err == errDuplicate {
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// errDuplicate rolls back the transaction of a text stored before.
var errDuplicate = steeple.Errorf(steeple.ECONFLICT, "inbound text already stored")

// conversationFor returns the conversation with a phone, creating it, and
// links it to the member who now has that phone. hash is the phone's
// current index, adopted (see adopt) in tx.
func (s *Store) conversationFor(ctx context.Context, tx *sql.Tx, hash, phone, churchNumber string, memberID sql.NullString,
	nowUS int64, now time.Time) (string, error) {
	id := steeple.NewID()
	_, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, phone_hash, phone_cipher, member_id, church_number, status,
		last_message_us, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $7) ON CONFLICT (phone_hash) DO NOTHING`,
		id, hash, s.keys.Seal([]byte(phone), phoneAAD), memberID, churchNumber, nowUS, now)
	if err != nil {
		return "", err
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM conversations WHERE phone_hash = $1`, hash).Scan(&id); err != nil {
		return "", err
	}
	_, err = tx.ExecContext(ctx, `UPDATE conversations SET member_id = $1,
		church_number = CASE WHEN CAST($2 AS TEXT) = '' THEN church_number ELSE CAST($2 AS TEXT) END WHERE id = $3`, memberID, churchNumber, id)
	return id, err
}

// applyKeyword records STOP and START: on the member when there is one,
// else on the conversation's unknown contact. The conversation keeps the
// contact's wish in both cases, so a member deleted after texting STOP is
// still not texted. It reports whether the consent changed.
func (s *Store) applyKeyword(ctx context.Context, tx *sql.Tx, in InboundText, convID string, memberID sql.NullString, now time.Time) (bool, error) {
	if in.laterKeyword {
		return false, nil
	}
	switch in.Keyword {
	case KeywordStop:
		return s.setPhoneConsent(ctx, tx, in, convID, memberID.Valid, steeple.ConsentOptedOut, in.Wording, now)
	case KeywordStart:
		return s.setPhoneConsent(ctx, tx, in, convID, memberID.Valid, steeple.ConsentOptedIn, in.Wording, now)
	}
	return false, nil
}

// consentKeyword reports whether the text is a STOP or START.
func (in InboundText) consentKeyword() bool {
	return in.Keyword == KeywordStop || in.Keyword == KeywordStart
}

// laterKeyword reports whether the conversation's phone has a STOP or
// START applied that the provider received after receivedUS.
func laterKeyword(ctx context.Context, tx *sql.Tx, convID string, receivedUS int64) (bool, error) {
	if receivedUS == 0 {
		return false, nil
	}
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT keyword_us FROM conversations WHERE id = $1`, convID).Scan(&last)
	return receivedUS < last, err
}

// setPhoneConsent records a phone's own opt-out or opt-in (source
// keyword) on its conversation and, when members have the phone, on each.
func (s *Store) setPhoneConsent(ctx context.Context, tx *sql.Tx, in InboundText, convID string, hasMember bool, status, wording string, now time.Time) (bool, error) {
	phone := in.From
	optedOut := status == steeple.ConsentOptedOut
	var wasOut bool
	if err := tx.QueryRowContext(ctx, `SELECT opted_out FROM conversations WHERE id = $1`, convID).Scan(&wasOut); err != nil {
		return false, err
	}
	// STOP settles a flagged request to stop: the flag and its one
	// clarification are done with.
	if _, err := tx.ExecContext(ctx, `UPDATE conversations SET opted_out = $1,
		flagged = CASE WHEN $1 THEN FALSE ELSE flagged END, clarified = CASE WHEN $1 THEN FALSE ELSE clarified END,
		keyword_us = CASE WHEN $3 > keyword_us THEN $3 ELSE keyword_us END
		WHERE id = $2`, optedOut, convID, in.ReceivedUS); err != nil {
		return false, err
	}
	if !hasMember {
		return wasOut != optedOut, nil
	}
	// Everyone who shares the phone: one STOP from a household's mobile
	// opts out the whole household, recorded as their own opt-out even when
	// an admin had already opted them out (only they can undo it), and
	// START, the phone's own clear opt-in, opts it back in.
	ix := s.phoneIndexes(phone)
	rows, err := tx.QueryContext(ctx, `SELECT id, consent_status FROM members WHERE phone_hash IN ($1, $2) ORDER BY id`, ix.cur, ix.prev)
	if err != nil {
		return false, err
	}
	current := map[string]string{}
	var ids []string
	for rows.Next() {
		var id, cur string
		if err := rows.Scan(&id, &cur); err != nil {
			rows.Close()
			return false, err
		}
		current[id] = cur
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	changed := false
	for _, id := range ids {
		if err := setConsentTx(ctx, tx, id, steeple.Consent{Status: status, Source: steeple.ConsentSourceKeyword, At: now, Wording: wording}); err != nil {
			return false, err
		}
		changed = changed || current[id] != status
	}
	return changed, nil
}

// CreateReply adds an outbound message to a conversation, queued for
// sending, and records it as the conversation's newest. Errors: ENOTFOUND.
func (s *Store) CreateReply(ctx context.Context, h *tenancy.Handle, conversationID string, d OutboundDraft) (*ConversationMessage, error) {
	now := s.Now()
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM conversations WHERE id = $1`, conversationID).Scan(&one); err != nil {
			return translate(err, "conversation")
		}
		if d.Purpose == PurposeReply {
			if err := refuseOptedOut(ctx, tx, conversationID); err != nil {
				return err
			}
		}
		return s.insertOutbound(ctx, tx, conversationID, d, now.UnixMicro(), now)
	})
	if err != nil {
		return nil, err
	}
	return s.ConversationMessage(ctx, h, d.ID)
}

func (s *Store) insertOutbound(ctx context.Context, tx *sql.Tx, convID string, d OutboundDraft, createdUS int64, now time.Time) error {
	media := make([]Media, 0, len(d.MediaURLs))
	for _, u := range d.MediaURLs {
		media = append(media, Media{URL: u})
	}
	mj, err := json.Marshal(media)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_messages (id, conversation_id, direction, body, media, purpose,
		status, created_by, created_us) VALUES ($1, $2, 'outbound', $3, $4, $5, 'queued', $6, $7)`,
		d.ID, convID, d.Body, string(mj), d.Purpose, d.CreatedBy, createdUS); err != nil {
		return err
	}
	// An admin's reply answers the contact; automatic texts do not.
	_, err = tx.ExecContext(ctx, `UPDATE conversations SET last_message_us = $1, last_preview = $2, last_direction = 'outbound',
		needs_reply = (needs_reply AND NOT $5), updated_at = $3 WHERE id = $4`,
		createdUS, preview(d.Body, len(d.MediaURLs)), now, convID, d.Purpose == PurposeReply)
	return err
}

const messageColumns = `id, direction, body, media, keyword, flag, purpose, status, error_code, error_detail,
	created_by, created_us, sent_at, finished_at FROM conversation_messages`

func scanConversationMessage(row interface{ Scan(...any) error }) (*ConversationMessage, error) {
	var m ConversationMessage
	var media string
	var createdUS int64
	var sent, fin sql.NullTime
	if err := row.Scan(&m.ID, &m.Direction, &m.Body, &media, &m.Keyword, &m.Flag, &m.Purpose, &m.Status, &m.ErrorCode,
		&m.ErrorDetail, &m.CreatedBy, &createdUS, &sent, &fin); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(media), &m.Media); err != nil {
		return nil, err
	}
	m.CreatedAt = time.UnixMicro(createdUS).UTC()
	m.SentAt, m.FinishedAt = utcPtr(sent), utcPtr(fin)
	return &m, nil
}

// ConversationMessage returns one message of any conversation. Errors: ENOTFOUND.
func (s *Store) ConversationMessage(ctx context.Context, h *tenancy.Handle, id string) (*ConversationMessage, error) {
	m, err := scanConversationMessage(h.QueryRowContext(ctx, `SELECT `+messageColumns+` WHERE id = $1`, id))
	return m, translate(err, "message")
}

// MarkConversationRead sets the unread count to zero. Errors: ENOTFOUND.
func (s *Store) MarkConversationRead(ctx context.Context, h *tenancy.Handle, id string) error {
	return s.updateConversation(ctx, h, id, `unread = 0`)
}

// SetConversationStatus closes or reopens a conversation. Errors: ENOTFOUND.
func (s *Store) SetConversationStatus(ctx context.Context, h *tenancy.Handle, id string, status steeple.ConversationStatus) error {
	if status == steeple.ConversationOpen {
		return s.updateConversation(ctx, h, id, `status = 'open'`)
	}
	return s.updateConversation(ctx, h, id, `status = 'closed'`)
}

func (s *Store) updateConversation(ctx context.Context, h *tenancy.Handle, id, set string) error {
	r, err := h.ExecContext(ctx, `UPDATE conversations SET `+set+`, updated_at = $1 WHERE id = $2`, s.Now(), id)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "conversation not found")
	}
	return nil
}

// MemberFromConversation turns a conversation's unknown contact into a
// member with the conversation's phone, and links the two, in one
// transaction. A contact who texted STOP starts opted out whatever c says.
// Errors: ENOTFOUND; ECONFLICT when the conversation already has a member
// or the phone belongs to one.
func (s *Store) MemberFromConversation(ctx context.Context, h *tenancy.Handle, conversationID string, in MemberInput, c steeple.Consent) (*steeple.Member, error) {
	now := s.Now()
	var m *steeple.Member
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		var sealed []byte
		var mid sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT phone_cipher, member_id FROM conversations WHERE id = $1`,
			conversationID).Scan(&sealed, &mid); err != nil {
			return translate(err, "conversation")
		}
		if mid.Valid {
			return steeple.Errorf(steeple.ECONFLICT, "this conversation is already with member %s", mid.String)
		}
		phone, err := s.keys.Open(sealed, phoneAAD)
		if err != nil {
			return err
		}
		c.At = now
		in.Phone = string(phone)
		// The contact is no longer unknown once a member has the phone (the
		// conversation shows that member): say who, rather than add another.
		var taken int
		ix := s.phoneIndexes(in.Phone)
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM members WHERE phone_hash IN ($1, $2)`, ix.cur, ix.prev).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return s.duplicatePhone(ctx, tx, in.Phone)
		}
		m = &steeple.Member{ID: steeple.NewID(), FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone, Email: in.Email,
			Groups: []steeple.GroupRef{}, Consent: c, CreatedAt: now, UpdatedAt: now}
		if err := s.keepTextedStop(ctx, tx, m); err != nil {
			return err
		}
		if err := s.insertMember(ctx, tx, m); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE conversations SET member_id = $1, updated_at = $2 WHERE id = $3`, m.ID, now, conversationID)
		return err
	})
	if tenancy.IsUniqueViolation(err) {
		return nil, s.duplicatePhone(ctx, h, m.Phone)
	}
	return m, err
}

func nonNilMedia(m []Media) []Media {
	if m == nil {
		return []Media{}
	}
	return m
}

// preview is the start of a text for the inbox list.
func preview(body string, media int) string {
	r := []rune(strings.TrimSpace(body))
	if len(r) > 80 {
		r = append(r[:79], '…')
	}
	if len(r) == 0 && media > 0 {
		return "[photo]"
	}
	return string(r)
}

func utcPtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func encodeTimeCursor(us int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(us, 10) + "|" + id))
}

func decodeTimeCursor(c string) (int64, string, error) {
	bad := steeple.Errorf(steeple.EINVALID, "invalid cursor")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	us, id, ok := strings.Cut(string(raw), "|")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil {
		return 0, "", bad
	}
	return n, id, nil
}

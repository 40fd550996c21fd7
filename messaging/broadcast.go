package messaging

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/members"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// maxAudienceIDs bounds the ids one request may name: each is checked
// while the church's connection is held.
const maxAudienceIDs = 10_000

// BroadcastRequest is a text to many members. Text may use {first_name}
// and {church_name}; TemplateID uses a saved template's body instead.
type BroadcastRequest struct {
	Text       string   `json:"text"`
	TemplateID string   `json:"template_id,omitempty"`
	MediaURLs  []string `json:"media_urls,omitempty"`
	// MediaIDs name images uploaded with POST /api/v1/media; each is sent
	// as a signed link that works for MediaLinkTTL from when the broadcast
	// is created (a scheduled one: when it fires).
	MediaIDs []string       `json:"media_ids,omitempty"`
	Audience store.Audience `json:"audience"`
}

// Preview is what a broadcast will cost: the church is billed per segment.
type Preview struct {
	Recipients         int    `json:"recipients"`
	Encoding           string `json:"encoding"`
	SegmentsPerMessage int    `json:"segments_per_message"`
	TotalSegments      int    `json:"total_segments"`
	// Excluded counts the chosen members who will not be texted, by reason
	// (ExcludedDuplicatePhone, or why their phone is not textable).
	// Opted-out members are not counted here.
	Excluded map[string]int `json:"excluded"`
	// LeftOut counts every chosen member who will not be texted, by one of
	// the fixed reasons LeftOut* (opted-out members included), for a
	// "who is left out and why" line.
	LeftOut map[string]int `json:"excluded_by_reason"`
	// Sample is the text as the first recipient gets it.
	Sample *Rendering `json:"sample,omitempty"`
	// Longest is the rendering with the most parts (then the most units):
	// a long first name can add a part.
	Longest *Rendering `json:"longest,omitempty"`
	// UCS2Chars are the characters of the text as written that force UCS-2,
	// with their positions and GSM-7 look-alikes.
	UCS2Chars []ForcingChar `json:"ucs2_chars,omitempty"`
	// UCS2Recipients counts recipients whose rendered text is UCS-2 (a name
	// such as "Zoë" can make it so when the text itself is GSM-7).
	UCS2Recipients int `json:"ucs2_recipients"`
}

// Rendering is the text one recipient gets and what it costs.
type Rendering struct {
	MemberID  string `json:"member_id"`
	FirstName string `json:"first_name"`
	Text      string `json:"text"`
	Encoding  string `json:"encoding"`
	Units     int    `json:"units"`
	Parts     int    `json:"parts"`
}

// The fixed reasons of Preview.LeftOut.
const (
	LeftOutOptedOut       = "opted_out"
	LeftOutNoValidMobile  = "no_valid_mobile"
	LeftOutDuplicatePhone = "duplicate_phone"
	LeftOutOutsideRegion  = "outside_region"
)

// ExcludedDuplicatePhone is the reason a member who shares a phone with
// another recipient is not texted: each phone gets a broadcast once.
const ExcludedDuplicatePhone = "duplicate phone"

// errEmptyAudience refuses a broadcast to no one now; a scheduled one is
// allowed (see CheckLater), its audience being resolved when it is sent.
var errEmptyAudience = steeple.FieldError("audience", "has no one who may be texted (everyone chosen has opted out or has a phone that cannot be texted, or there is no one)")

// WarningEmptyAudience is the warning on a scheduled or recurring message
// whose audience is empty today.
const WarningEmptyAudience = "no one in this audience may be texted today; it is looked at again when the message is sent"

// CheckLater validates a broadcast to be sent later, as Preview does, but
// accepts an audience with no one in it today, answering a warning instead.
func (s *Service) CheckLater(ctx context.Context, h *tenancy.Handle, r BroadcastRequest) ([]string, error) {
	_, err := s.prepare(ctx, h, r)
	if err == errEmptyAudience {
		return []string{WarningEmptyAudience}, nil
	}
	return nil, err
}

// plan is a broadcast ready to commit.
type plan struct {
	Preview
	text       string
	media      []string // media_urls, then the links of media_ids
	recipients []store.OutgoingRecipient
}

// prepare validates a request, resolves its audience (opted-out members
// excluded) and renders every recipient's text.
func (s *Service) prepare(ctx context.Context, h *tenancy.Handle, r BroadcastRequest) (*plan, error) {
	fe := map[string]string{}
	text, err := s.checkContent(ctx, h, r, fe)
	if err != nil {
		return nil, err
	}
	a := r.Audience
	kinds := 0
	for _, set := range []bool{a.All, len(a.GroupIDs) > 0, len(a.MemberIDs) > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		fe["audience"] = `give exactly one of {"all":true}, {"group_ids":[…]} or {"member_ids":[…]}`
	} else if len(a.GroupIDs) > maxAudienceIDs || len(a.MemberIDs) > maxAudienceIDs {
		fe["audience"] = fmt.Sprintf("at most %d ids; use a group for more", maxAudienceIDs)
	}
	if len(fe) > 0 {
		return nil, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	media, err := s.mediaLinks(ctx, h, r)
	if err != nil {
		return nil, err
	}
	chosen, left, err := s.store.AudienceReach(ctx, h, a)
	if err != nil {
		return nil, err
	}
	people, excluded, err := s.textable(ctx, h, chosen)
	if err != nil {
		return nil, err
	}
	leftOut := map[string]int{LeftOutOptedOut: left.OptedOut, LeftOutNoValidMobile: left.PhoneRejected,
		LeftOutDuplicatePhone: 0, LeftOutOutsideRegion: 0}
	for why, n := range excluded {
		switch {
		case why == ExcludedDuplicatePhone:
			leftOut[LeftOutDuplicatePhone] += n
		case strings.HasPrefix(why, "outside"):
			leftOut[LeftOutOutsideRegion] += n
		default:
			leftOut[LeftOutNoValidMobile] += n
		}
	}
	if len(people) == 0 {
		return nil, errEmptyAudience
	}
	p := &plan{text: text, Preview: Preview{Recipients: len(people), Encoding: EncodingGSM7, Excluded: excluded,
		LeftOut: leftOut, UCS2Chars: UCS2Chars(text)}, recipients: make([]store.OutgoingRecipient, 0, len(people))}
	church := h.Tenant().Name
	p.media = media
	mms := len(media) > 0
	longest := -1
	var longestSeg SegmentInfo
	// A text depends only on the first name: render and count each name
	// once (a large audience shares few names).
	type rendered struct {
		body string
		seg  SegmentInfo
	}
	byName := map[string]rendered{}
	for i, m := range people {
		rd, ok := byName[m.FirstName]
		if !ok {
			rd.body = members.Render(text, m.FirstName, church)
			rd.seg = Segments(rd.body)
			byName[m.FirstName] = rd
		}
		body, seg := rd.body, rd.seg
		if seg.PerMessage > MaxSegments {
			return nil, steeple.FieldError("text", "is too long: it needs more than 10 segments for some recipients")
		}
		if seg.Encoding == EncodingUCS2 {
			p.Encoding = EncodingUCS2
			p.UCS2Recipients++
		}
		if longest < 0 || seg.PerMessage > longestSeg.PerMessage ||
			(seg.PerMessage == longestSeg.PerMessage && seg.Characters > longestSeg.Characters) {
			longest, longestSeg = i, seg
		}
		n := seg.PerMessage
		if mms {
			n = 1 // an MMS is billed as one message
		}
		p.SegmentsPerMessage = max(p.SegmentsPerMessage, n)
		p.TotalSegments += n
		p.recipients = append(p.recipients, store.OutgoingRecipient{Recipient: m, Body: body, Chunk: i / store.ChunkSize})
	}
	p.Sample = rendering(p.recipients[0])
	p.Longest = rendering(p.recipients[longest])
	return p, nil
}

// checkContent checks a request's text (or template) and media, adding
// what is wrong to fe, and returns the text to send.
func (s *Service) checkContent(ctx context.Context, h *tenancy.Handle, r BroadcastRequest, fe map[string]string) (string, error) {
	text := strings.TrimSpace(r.Text)
	if r.TemplateID != "" {
		if text != "" {
			fe["text"] = "give text or template_id, not both"
		} else if t, err := s.store.Template(ctx, h, r.TemplateID); err != nil {
			if steeple.ErrorCode(err) != steeple.ENOTFOUND {
				return "", err
			}
			fe["template_id"] = "no such template"
		} else {
			text = t.Body
		}
	} else if text == "" {
		fe["text"] = "is required"
	}
	if len(r.MediaURLs)+len(r.MediaIDs) > 10 {
		fe["media_urls"] = "at most 10 (media_urls and media_ids together)"
	}
	for _, m := range r.MediaURLs {
		if why := s.checkMediaURL(ctx, m); why != "" {
			fe["media_urls"] = why
			break
		}
	}
	return text, nil
}

// mediaLinks are a request's media URLs, then the signed links of its
// uploaded images. Errors: ENOTFOUND for an image not in this church.
func (s *Service) mediaLinks(ctx context.Context, h *tenancy.Handle, r BroadcastRequest) ([]string, error) {
	media := append([]string{}, r.MediaURLs...)
	for _, id := range r.MediaIDs {
		if err := s.store.MediaExists(ctx, h, id); err != nil {
			return nil, err
		}
		media = append(media, s.MediaLink(h.TenantID(), id, s.now().Add(MediaLinkTTL)))
	}
	return media, nil
}

// rendering describes the text one recipient gets.
func rendering(r store.OutgoingRecipient) *Rendering {
	seg := Segments(r.Body)
	return &Rendering{MemberID: r.MemberID, FirstName: r.FirstName, Text: r.Body,
		Encoding: seg.Encoding, Units: seg.Characters, Parts: seg.PerMessage}
}

// textable keeps the members whose phone the church's number can text,
// each phone once (the first member chosen for it), and counts the others
// by reason.
func (s *Service) textable(ctx context.Context, h *tenancy.Handle, chosen []store.Recipient) ([]store.Recipient, map[string]int, error) {
	region, err := s.store.Setting(ctx, h, steeple.SettingPhoneRegion)
	if err != nil {
		return nil, nil, err
	}
	if region == "" {
		region = members.DefaultRegion
	}
	excluded := map[string]int{}
	seen := map[string]bool{}
	var out []store.Recipient
	// NotTextable parses the number and finds its region, slow enough to
	// dominate a large audience; a +1 number's answer depends only on its
	// first seven national digits (the numbering plan's patterns look no
	// further), so it is computed once per such prefix.
	byPrefix := map[string]string{}
	for _, r := range chosen {
		var why string
		if key, ok := nanpPrefix(r.Phone); ok {
			w, seen := byPrefix[key]
			if !seen {
				w = members.NotTextable(r.Phone, region)
				byPrefix[key] = w
			}
			why = w
		} else {
			why = members.NotTextable(r.Phone, region)
		}
		if why != "" {
			excluded[why]++
			continue
		}
		if seen[r.Phone] {
			excluded[ExcludedDuplicatePhone]++
			continue
		}
		seen[r.Phone] = true
		out = append(out, r)
	}
	return out, excluded, nil
}

// nanpPrefix returns the first seven national digits of a +1 number in
// E.164 ("+1" and ten digits), the key under which textable caches
// NotTextable.
func nanpPrefix(phone string) (string, bool) {
	if len(phone) != 12 || phone[0] != '+' || phone[1] != '1' {
		return "", false
	}
	for i := 2; i < 12; i++ {
		if phone[i] < '0' || phone[i] > '9' {
			return "", false
		}
	}
	return phone[:9], true
}

// Preview answers what a broadcast would reach and cost, creating nothing.
func (s *Service) Preview(ctx context.Context, h *tenancy.Handle, r BroadcastRequest) (*Preview, error) {
	p, err := s.prepare(ctx, h, r)
	if err != nil {
		return nil, err
	}
	return &p.Preview, nil
}

// Create commits a broadcast and its recipients, then hands it to the queue.
// The registry intent is written first, so a crash at any point leaves
// something the recovery sweep completes: nothing is lost, nothing sent twice.
// The admin's broadcast is audited (message.created, with its recipients).
func (s *Service) Create(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, r BroadcastRequest) (*store.Broadcast, error) {
	b, err := s.CreateAs(ctx, h, admin.ID, steeple.NewID(), r)
	if err != nil {
		return nil, err
	}
	return b, s.store.Audit(ctx, h, store.AuditEntry{ActorID: admin.ID, Action: "message.created", Target: b.ID,
		Detail: fmt.Sprintf("%d recipients", b.Recipients)})
}

// CreateAs creates a broadcast with a chosen id, for a creator that may be
// a schedule: a schedule names each occurrence's broadcast by an id derived
// from the occurrence, so firing it twice creates it once. Errors as Create,
// and ECONFLICT when a broadcast with that id exists.
func (s *Service) CreateAs(ctx context.Context, h *tenancy.Handle, createdBy, id string, r BroadcastRequest) (*store.Broadcast, error) {
	p, err := s.prepare(ctx, h, r)
	if err != nil {
		return nil, err
	}
	numbers, err := s.ten.Registry.SendingNumbers(ctx, h.TenantID())
	if err != nil {
		return nil, err
	}
	if len(numbers) == 0 {
		return nil, steeple.Errorf(steeple.EINVALID, "this church has no phone number to send from yet")
	}
	b := &store.Broadcast{ID: id, Text: p.text, MediaURLs: p.media, Audience: r.Audience, From: numbers[0],
		Encoding: p.Encoding, SegmentsPerMessage: p.SegmentsPerMessage, Recipients: p.Recipients,
		Chunks: (p.Recipients + store.ChunkSize - 1) / store.ChunkSize, CreatedBy: createdBy}
	if b.MediaURLs == nil {
		b.MediaURLs = []string{}
	}
	if err := s.ten.Registry.AddDispatchIntent(ctx, tenancy.IntentBroadcast, h.TenantID(), b.ID); err != nil {
		return nil, err
	}
	quota := s.cfg.Plans[h.Tenant().Plan].MonthlySegments
	if err := s.store.CreateBroadcast(ctx, h, b, p.recipients, p.TotalSegments, quota); err != nil {
		if tenancy.IsUniqueViolation(err) {
			return nil, steeple.Errorf(steeple.ECONFLICT, "broadcast %s exists already", id)
		}
		return nil, err // the sweep finds no message and drops the intent
	}
	if err := s.dispatch(ctx, h.TenantID(), b.ID, b.Chunks); err != nil {
		s.log.Warn("broadcast saved; dispatch deferred to the recovery sweep", "tenant", h.TenantID(), "message", b.ID, "err", err)
	} else if err := s.store.MarkDispatched(ctx, h, b.ID); err != nil {
		s.log.Warn("marking broadcast dispatched", "message", b.ID, "err", err)
	}
	out, err := s.store.Broadcast(ctx, h, b.ID)
	if out != nil {
		out.Excluded = p.Excluded
		localize(h, out)
	}
	return out, err
}

// localize adds the church's timezone and local creation time.
func localize(h *tenancy.Handle, bs ...*store.Broadcast) {
	loc := ChurchLocation(h)
	for _, b := range bs {
		b.Timezone = loc.String()
		b.CreatedAtLocal = b.CreatedAt.In(loc).Format(time.RFC3339)
	}
}

// Duplicate is what a broadcast asked for (text, media, audience), as a
// request to edit and send again: nothing is created.
func (s *Service) Duplicate(ctx context.Context, h *tenancy.Handle, id string) (*BroadcastRequest, error) {
	b, err := s.store.Broadcast(ctx, h, id)
	if err != nil {
		return nil, err
	}
	return &BroadcastRequest{Text: b.Text, MediaURLs: b.MediaURLs, Audience: b.Audience}, nil
}

// Get returns a broadcast with its counts and every recipient's status.
func (s *Service) Get(ctx context.Context, h *tenancy.Handle, id string) (*store.Broadcast, []store.RecipientStatus, error) {
	b, err := s.store.Broadcast(ctx, h, id)
	if err != nil {
		return nil, nil, err
	}
	localize(h, b)
	rs, err := s.store.BroadcastRecipients(ctx, h, id)
	return b, rs, err
}

// List returns the newest broadcasts.
func (s *Service) List(ctx context.Context, h *tenancy.Handle, limit int) ([]*store.Broadcast, error) {
	bs, err := s.store.Broadcasts(ctx, h, limit)
	localize(h, bs...)
	return bs, err
}

package store

import (
	"fmt"
	"slices"
	"strings"
)

// tableNotes say in plain words what each table file holds.
var tableNotes = map[string]string{
	"settings":              "the church's texting settings (quiet hours, welcome text, help contact)",
	"admins":                "the people who sign in: name, email, phone, role, language (no passwords or MFA secrets)",
	"church_gate":           "when the church's email was verified and its signup approved",
	"invitations":           "invitations sent to new admins (the invitation links themselves are left out)",
	"audit_log":             "who did what and when, with the personal detail some entries carry",
	"members":               "the church's members: names, phone numbers, emails, current consent to texts",
	"consent_events":        "every change of a member's consent, with its source and wording",
	"groups":                "member groups",
	"group_members":         "which member is in which group",
	"templates":             "saved message templates",
	"messages":              "texts sent to many members (broadcasts): body, audience, when",
	"message_recipients":    "each recipient of each broadcast: phone, the text as sent, its delivery status",
	"segment_usage":         "text parts sent each month",
	"daily_sends":           "texts sent each day",
	"conversations":         "the inbox: one conversation per phone number that texted or was replied to",
	"conversation_messages": "the texts of each conversation, both ways",
	"registration":          "the 10DLC registration: legal name, EIN, address, contact, status",
	"schedules":             "scheduled and recurring messages",
	"schedule_runs":         "each time a schedule sent its message",
	"welcomes":              "welcome texts sent to members who opted in",
	"media":                 "images uploaded for picture messages; each row names its file under media/",
	"keywords":              "keywords people can text to join a group",
	"keyword_joins":         "who joined through which keyword",
}

// archiveReadme is README.txt: what each file is, for whoever opens the zip.
func archiveReadme(m *ArchiveManifest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Steeple export of %q (church id %s), made %s UTC.\n\n", m.Church.Name, m.Church.ID, m.CreatedAt.Format("2006-01-02 15:04"))
	b.WriteString(`This archive holds the church's data as it was at one moment. It contains
personal data in plain text (members' phone numbers and emails, admins'
emails and phones, the EIN): keep it as safe as you keep the church's records.

Files:
  manifest.json   what this archive is: its format version, the database schema
                  version, the church's id, name and time zone, when it was made,
                  and how many rows each table file holds.
  README.txt      this file.
  tables/*.jsonl  one file per table, one JSON object per line (JSON Lines).
                  Times are UTC (RFC 3339). Ids link rows across files.
  media/*         the images uploaded for picture messages.

Tables:
`)
	names := make([]string, 0, len(m.Tables))
	for _, at := range archiveTables {
		if _, ok := m.Tables[at.name]; ok {
			names = append(names, at.name)
		}
	}
	for _, n := range names {
		fmt.Fprintf(&b, "  tables/%s.jsonl (%d rows)\n      %s\n", n, m.Tables[n], tableNotes[n])
	}
	b.WriteString(`
Left out on purpose (secrets, or bookkeeping that means nothing elsewhere):
  - admins' password hashes, MFA (TOTP) secrets; invitation link tokens
`)
	left := make([]string, 0, len(archiveLeftOut))
	for n := range archiveLeftOut {
		left = append(left, n)
	}
	slices.Sort(left)
	for _, n := range left {
		fmt.Fprintf(&b, "  - %s: %s\n", n, archiveLeftOut[n])
	}
	b.WriteString(`
Phone numbers the church rents are not part of the church's data and are not
carried: a church imported elsewhere gets new numbers. "steeple tenants import"
restores this archive as a new church; its admins then set a password with
"Forgot password?" on the sign-in page. The 10DLC registration is not
imported (its brand and campaign belong to the old provider account), and
picture links in the message history name the server they were sent from:
the pictures themselves are in media/.
`)
	return b.String()
}

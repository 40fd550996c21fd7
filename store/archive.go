package store

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
)

// An archive is a church's data as a portable zip: manifest.json, one JSON
// Lines file per table (personal data decrypted, no secrets), the uploaded
// images under media/, and a README.txt for the people who open it.
const (
	// ArchiveFormat names the archive in its manifest.
	ArchiveFormat = "steeple-church-export"
	// ArchiveFormatVersion is the layout of the archive this binary writes
	// and the only one it reads.
	ArchiveFormatVersion = 1
)

// ArchiveManifest is manifest.json.
type ArchiveManifest struct {
	Format        string           `json:"format"`
	FormatVersion int              `json:"format_version"`
	SchemaVersion int64            `json:"schema_version"`
	Church        ArchiveChurch    `json:"church"`
	CreatedAt     time.Time        `json:"created_at"`
	Tables        map[string]int64 `json:"tables"` // rows per table file
	MediaFiles    int64            `json:"media_files"`
}

// ArchiveChurch is what the registry knew of the church when it was exported.
type ArchiveChurch struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Slug     string `json:"slug"`
	Timezone string `json:"timezone"`
	Plan     string `json:"plan,omitempty"`
}

// plainColumn is personal data stored sealed: the archive holds it in
// plain (as plain), and an import seals it again and recomputes its blind
// index (hash, by purpose) with the importing deployment's keys.
type plainColumn struct {
	cipher, plain string
	aad           []byte
	hash, purpose string // no hash: the column has no blind index
}

// archiveTable is one church table in the archive.
type archiveTable struct {
	name   string
	sealed []plainColumn
	// secret columns never leave the database (password hashes, TOTP
	// secrets, token hashes).
	secret []string
	// imported says whether an import writes the table back (the
	// registration names provider objects a new church does not have).
	imported bool
}

// archiveTables lists every church table an archive holds, in an order that
// inserts parents before children. A new table must be added here or to
// archiveLeftOut (a test checks the schema against both).
var archiveTables = []archiveTable{
	{name: "settings", imported: true},
	{name: "admins", imported: true,
		sealed: []plainColumn{{cipher: "email_cipher", plain: "email", aad: emailAAD, hash: "email_hash", purpose: "email"},
			{cipher: "phone_cipher", plain: "phone", aad: adminPhoneAAD}},
		secret: []string{"password_hash", "totp_cipher", "totp_pending_cipher", "totp_last_step"}},
	{name: "church_gate", imported: true},
	{name: "invitations", imported: true,
		sealed: []plainColumn{{cipher: "email_cipher", plain: "email", aad: invitationAAD, hash: "email_hash", purpose: "email"}},
		secret: []string{"token_hash"}},
	{name: "audit_log", imported: true,
		sealed: []plainColumn{{cipher: "personal_cipher", plain: "personal", aad: auditAAD}}},
	{name: "members", imported: true,
		sealed: []plainColumn{{cipher: "phone_cipher", plain: "phone", aad: phoneAAD, hash: "phone_hash", purpose: "phone"},
			{cipher: "email_cipher", plain: "email", aad: memberEmailAAD, hash: "email_hash", purpose: "email"}}},
	{name: "consent_events", imported: true},
	{name: "groups", imported: true},
	{name: "group_members", imported: true},
	{name: "templates", imported: true},
	{name: "messages", imported: true},
	{name: "message_recipients", imported: true,
		sealed: []plainColumn{{cipher: "phone_cipher", plain: "phone", aad: phoneAAD}}},
	{name: "segment_usage", imported: true},
	{name: "daily_sends", imported: true},
	{name: "conversations", imported: true,
		sealed: []plainColumn{{cipher: "phone_cipher", plain: "phone", aad: phoneAAD, hash: "phone_hash", purpose: "phone"}}},
	{name: "conversation_messages", imported: true},
	{name: "registration", imported: false,
		sealed: []plainColumn{{cipher: "ein_cipher", plain: "ein", aad: einAAD}}},
	{name: "schedules", imported: true},
	{name: "schedule_runs", imported: true},
	{name: "welcomes", imported: true},
	{name: "media", imported: true}, // data goes to media/<id>, the row names the file
	{name: "keywords", imported: true},
	{name: "keyword_joins", imported: true},
}

// archiveLeftOut are the church tables an archive leaves out, and why (the
// README says so too).
var archiveLeftOut = map[string]string{
	"refresh_tokens":      "API sign-in tokens (secrets)",
	"recovery_codes":      "MFA recovery codes (secrets)",
	"email_verifications": "email verification links (secrets)",
	"web_sessions":        "web sign-in sessions (secrets)",
	"spent_tokens":        "used single-use links (security bookkeeping)",
	"import_uploads":      "CSV files uploaded for a member import, kept an hour",
	"connect_cards":       "connect-card questions waiting for an answer (short-lived)",
	"goose_db_version":    "the schema's migration bookkeeping (its version is in manifest.json)",
}

// columnKind is how a column's values travel through JSON.
type columnKind int

const (
	kindText columnKind = iota
	kindInt
	kindBool
	kindTime
	kindBytes
)

// kindOf maps a driver's column type (SQLite's declared type, PostgreSQL's
// type name) to a kind, so both dialects write and read the same JSON.
func kindOf(ct *sql.ColumnType) columnKind {
	t := strings.ToUpper(ct.DatabaseTypeName())
	switch {
	case strings.Contains(t, "BOOL"):
		return kindBool
	case strings.Contains(t, "TIMESTAMP") || t == "DATE" || t == "DATETIME":
		return kindTime
	case strings.Contains(t, "INT") || t == "SERIAL" || t == "BIGSERIAL":
		return kindInt
	case t == "BLOB" || t == "BYTEA":
		return kindBytes
	}
	return kindText
}

// mediaFile is the archive path of an uploaded image.
func mediaFile(id, contentType string) string {
	ext := ".bin"
	switch contentType {
	case "image/jpeg":
		ext = ".jpg"
	case "image/png":
		ext = ".png"
	case "image/gif":
		ext = ".gif"
	case "image/webp":
		ext = ".webp"
	}
	return "media/" + id + ext
}

// Summary counts what the archive holds, for people and the audit log.
func (m *ArchiveManifest) Summary() string {
	var parts []string
	for _, at := range archiveTables {
		if n := m.Tables[at.name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", at.name, n))
		}
	}
	if m.MediaFiles > 0 {
		parts = append(parts, fmt.Sprintf("media files %d", m.MediaFiles))
	}
	if len(parts) == 0 {
		return "no rows"
	}
	return strings.Join(parts, ", ")
}

// archiveError is a bad archive: the operator gave the wrong file.
func archiveError(format string, args ...any) error {
	return steeple.Errorf(steeple.EINVALID, "archive: "+format, args...)
}

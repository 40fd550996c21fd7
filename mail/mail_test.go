package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/mail"
)

// A mail goes through a real SMTP server (with AUTH PLAIN) and arrives with
// its subject, text and HTML alternative.
func TestSMTPDelivers(t *testing.T) {
	srv := testkit.NewSMTPServer(t, testkit.SMTPOptions{User: "steeple", Password: "s3cret"})
	s, err := mail.New(mail.Config{SMTPURL: srv.URL(), From: "Steeple <no-reply@steeple.test>", RootCAs: srv.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: "ana@example.org", Subject: "Verify your email",
		Text: "Open https://x.test/verify-email?token=abc.def", HTML: "<p>Open the link</p>"})
	if err != nil {
		t.Fatal(err)
	}
	m := srv.WaitFor(t, "ana@example.org", "Verify your email")
	if m.Token() != "abc.def" || !strings.Contains(m.Raw, "text/html") || m.From != "no-reply@steeple.test" {
		t.Fatalf("mail: token %q from %q\n%s", m.Token(), m.From, m.Raw)
	}
}

// A server that wants a password refuses a client without one, and the
// error says so without the password.
func TestSMTPWrongPassword(t *testing.T) {
	srv := testkit.NewSMTPServer(t, testkit.SMTPOptions{User: "steeple", Password: "s3cret"})
	s, err := mail.New(mail.Config{SMTPURL: "smtp://steeple:wrong@" + srv.Addr, From: "no-reply@steeple.test", RootCAs: srv.RootCAs})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: "ana@example.org", Subject: "x", Text: "y"})
	if err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("err = %v", err)
	}
	if len(srv.Mails()) != 0 {
		t.Fatal("mail delivered without authentication")
	}
}

// STARTTLS required refuses a server that does not offer it.
func TestSMTPStartTLSRequired(t *testing.T) {
	srv := testkit.NewSMTPServer(t, testkit.SMTPOptions{NoTLS: true})
	s, err := mail.New(mail.Config{SMTPURL: "smtp://" + srv.Addr + "?starttls=required", From: "no-reply@steeple.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "ana@example.org", Subject: "x", Text: "y"}); err == nil {
		t.Fatal("sent in the clear although STARTTLS was required")
	}
}

func TestSMTPURLChecked(t *testing.T) {
	for _, u := range []string{"http://host:25", "smtp://", "smtp://host:99999", "smtp://host?starttls=maybe"} {
		if _, err := mail.New(mail.Config{SMTPURL: u, From: "a@b.c"}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if _, err := mail.New(mail.Config{SMTPURL: "smtps://u:p@mail.example.org", From: "a@b.c"}); err != nil {
		t.Errorf("smtps: %v", err)
	}
}

// Without SMTP the mail is an .eml file in the outbox; the log names the
// file and never the link inside.
func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	var logs bytes.Buffer
	s, err := mail.New(mail.Config{OutboxDir: dir, From: "no-reply@steeple.test", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "ana@example.org", Subject: "Join", Text: "https://x.test/invitations/accept?token=SECRET1"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	if !strings.Contains(string(raw), "SECRET1") || !strings.Contains(string(raw), "To: <ana@example.org>") {
		t.Fatalf("eml:\n%s", raw)
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	if !strings.Contains(logs.String(), files[0]) || strings.Contains(logs.String(), "SECRET1") {
		t.Fatalf("log: %s", logs.String())
	}
	err = s.Send(context.Background(), mail.Message{To: "", Subject: "x", Text: "y"})
	if steeple.ErrorCode(err) != steeple.EINVALID {
		t.Fatalf("no recipient: %v", err)
	}
}

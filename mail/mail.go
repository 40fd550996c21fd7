// Package mail sends Steeple's email: address verification, invitations
// and, later, password resets and reply notifications. Services depend on
// the Sender interface; the concrete transport is chosen once in main:
// SMTP when STEEPLE_SMTP_URL is set, otherwise an outbox folder of .eml
// files (the embedded default).
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/steeple-sms/steeple"
)

// Message is one email to one person. Text is required; HTML is optional
// and sent as an alternative to the text.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender delivers messages.
type Sender interface {
	// Send delivers m. Errors: EINVALID for a message without recipient,
	// subject or text; EINTERNAL (wrapped) when the transport fails.
	Send(ctx context.Context, m Message) error
}

// Config selects and tunes the transport.
type Config struct {
	// SMTPURL is smtp://user:pass@host:port (STARTTLS when the server
	// offers it; add ?starttls=required to refuse a server that does not)
	// or smtps://user:pass@host:port (implicit TLS). Empty: the outbox.
	SMTPURL string
	// From is the sender address, e.g. "Steeple <no-reply@example.org>".
	From string
	// OutboxDir is where mails are written without SMTP.
	OutboxDir string
	// Timeout bounds one SMTP delivery (default 30 s).
	Timeout time.Duration
	// RootCAs, when set, replaces the system's trusted certificates (a
	// private mail server's CA, or a test server's).
	RootCAs *x509.CertPool
	Logger  *slog.Logger
}

// New returns the transport cfg selects.
func New(cfg Config) (Sender, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.From == "" {
		return nil, errors.New("STEEPLE_MAIL_FROM: must not be empty")
	}
	if cfg.SMTPURL == "" {
		if cfg.OutboxDir == "" {
			return nil, errors.New("mail: without STEEPLE_SMTP_URL an outbox directory is needed")
		}
		return &Outbox{Dir: cfg.OutboxDir, From: cfg.From, Logger: cfg.Logger}, nil
	}
	return NewSMTP(cfg)
}

// build makes the MIME message.
func build(from string, m Message) (*gomail.Msg, error) {
	if strings.TrimSpace(m.To) == "" || strings.TrimSpace(m.Subject) == "" || m.Text == "" {
		return nil, steeple.Errorf(steeple.EINVALID, "a mail needs a recipient, a subject and a text")
	}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail from %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, steeple.Errorf(steeple.EINVALID, "cannot mail this address: %v", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// SMTP delivers through an SMTP server.
type SMTP struct {
	from string
	opts []gomail.Option
	host string
	log  *slog.Logger
}

// ParseSMTPURL checks an SMTP URL and returns the client options it means.
func ParseSMTPURL(raw string) (host string, opts []gomail.Option, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, errors.New("STEEPLE_SMTP_URL: not a URL")
	}
	if u.Hostname() == "" {
		return "", nil, errors.New("STEEPLE_SMTP_URL: needs a host, as smtp://user:pass@host:port")
	}
	port := 587
	switch u.Scheme {
	case "smtp":
		policy := gomail.TLSOpportunistic
		switch u.Query().Get("starttls") {
		case "", "auto":
		case "required":
			policy = gomail.TLSMandatory
		default:
			return "", nil, errors.New("STEEPLE_SMTP_URL: starttls must be auto or required")
		}
		opts = append(opts, gomail.WithTLSPortPolicy(policy))
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	default:
		return "", nil, errors.New("STEEPLE_SMTP_URL: scheme must be smtp or smtps")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", nil, errors.New("STEEPLE_SMTP_URL: bad port")
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil && u.User.Username() != "" {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	return u.Hostname(), opts, nil
}

// NewSMTP builds the SMTP transport; it does not connect until Send.
func NewSMTP(cfg Config) (*SMTP, error) {
	host, opts, err := ParseSMTPURL(cfg.SMTPURL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts = append(opts, gomail.WithTimeout(cfg.Timeout))
	if cfg.RootCAs != nil {
		opts = append(opts, gomail.WithTLSConfig(&tls.Config{ServerName: host, RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}))
	}
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("STEEPLE_SMTP_URL: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &SMTP{from: cfg.From, opts: opts, host: host, log: cfg.Logger}, nil
}

// Send delivers m over one SMTP connection.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(s.from, m)
	if err != nil {
		return err
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail to %s via %s: %w", domainOf(m.To), s.host, err)
	}
	return nil
}

// Outbox writes each mail as an .eml file, for the embedded default where
// no SMTP server is configured. The log names the file, never its content:
// mails carry links that are credentials.
type Outbox struct {
	Dir    string
	From   string
	Logger *slog.Logger
}

// Send writes m to a new file in the outbox (mode 0600).
func (o *Outbox) Send(ctx context.Context, m Message) error {
	msg, err := build(o.From, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := filepath.Join(o.Dir, time.Now().UTC().Format("20060102T150405.000000000Z")+"-"+steeple.NewID()+".eml")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("outbox: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	o.Logger.Info("no SMTP server configured (STEEPLE_SMTP_URL): mail written to the outbox", "file", name, "subject", m.Subject)
	return nil
}

// domainOf names only the domain of an address, for error messages that
// may be logged.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "?"
}

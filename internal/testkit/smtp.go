package testkit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one message captured by the test SMTP server.
type Mail struct {
	From string
	To   []string
	Raw  string // the message as received (headers and MIME body)
}

// Header returns a decoded header of the mail (e.g. "Subject").
func (m Mail) Header(name string) string {
	msg, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// Body returns the raw body with quoted-printable soft breaks undone, good
// enough to search for links and phrases.
func (m Mail) Body() string {
	raw := m.Raw
	if i := strings.Index(raw, "\r\n\r\n"); i >= 0 {
		raw = raw[i+4:]
	}
	raw = strings.ReplaceAll(raw, "=\r\n", "")
	return strings.ReplaceAll(raw, "=3D", "=")
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9._~%-]+)`)

// Token returns the first token= value in a link of the mail ("" if none).
func (m Mail) Token() string {
	if s := linkToken.FindStringSubmatch(m.Body()); s != nil {
		return strings.ReplaceAll(s[1], "%2E", ".")
	}
	return ""
}

// SMTPServer is a real SMTP server in the test process that keeps every
// message it receives. It offers STARTTLS with a certificate made for the
// test (clients trust it through RootCAs); with User set it requires AUTH.
type SMTPServer struct {
	Addr     string
	User     string
	Password string
	// RootCAs trusts the server's certificate.
	RootCAs *x509.CertPool

	mu    sync.Mutex
	mails []Mail
	more  chan struct{}
}

// SMTPOptions tune NewSMTPServer.
type SMTPOptions struct {
	User, Password string // require AUTH with these
	NoTLS          bool   // do not offer STARTTLS
}

// NewSMTPServer starts a capturing SMTP server on 127.0.0.1; it stops when
// the test ends.
func NewSMTPServer(t testing.TB, opts ...SMTPOptions) *SMTPServer {
	t.Helper()
	var o SMTPOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Addr: ln.Addr().String(), User: o.User, Password: o.Password, more: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }))
	srv.Domain = "localhost"
	if !o.NoTLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.RootCAs = pool
	}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// URL is the STEEPLE_SMTP_URL that reaches this server.
func (s *SMTPServer) URL() string {
	if s.User != "" {
		return "smtp://" + s.User + ":" + s.Password + "@" + s.Addr
	}
	return "smtp://" + s.Addr
}

// Mails returns every message received so far.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor returns the first message to rcpt ("": anyone) whose text
// contains every one of contains, waiting up to 10 s for it to arrive.
func (s *SMTPServer) WaitFor(t testing.TB, rcpt string, contains ...string) Mail {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		for _, m := range s.mails {
			if m.sentTo(rcpt) && m.has(contains) {
				s.mu.Unlock()
				return m
			}
		}
		more := s.more
		s.mu.Unlock()
		select {
		case <-more:
		case <-deadline:
			t.Fatalf("no mail to %s containing %q within 10 s (got %d mails)", rcpt, contains, len(s.Mails()))
		}
	}
}

// Count returns how many messages were sent to rcpt.
func (s *SMTPServer) Count(rcpt string) int {
	n := 0
	for _, m := range s.Mails() {
		if m.sentTo(rcpt) {
			n++
		}
	}
	return n
}

func (m Mail) sentTo(rcpt string) bool {
	if rcpt == "" {
		return true
	}
	for _, r := range m.To {
		if strings.EqualFold(r, rcpt) {
			return true
		}
	}
	return false
}

func (m Mail) has(parts []string) bool {
	body := m.Body()
	for _, p := range parts {
		if !strings.Contains(m.Raw, p) && !strings.Contains(body, p) && !strings.Contains(m.Header("Subject"), p) {
			return false
		}
	}
	return true
}

func (s *SMTPServer) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	close(s.more)
	s.more = make(chan struct{})
	s.mu.Unlock()
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "steeple test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type smtpSession struct {
	srv    *SMTPServer
	authed bool
	from   string
	to     []string
}

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != x.srv.User || pass != x.srv.Password {
			return errors.New("invalid username or password")
		}
		x.authed = true
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.srv.User != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	x.srv.add(Mail{From: x.from, To: append([]string(nil), x.to...), Raw: b.String()})
	return nil
}

func (x *smtpSession) Reset()        { x.from, x.to = "", nil }
func (x *smtpSession) Logout() error { return nil }

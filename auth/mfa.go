package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/url"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// MFASetup is what an admin scans into an authenticator app.
type MFASetup struct {
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      string `json:"qr_png"` // data: URL of a PNG QR code
}

// SetupMFA makes a new TOTP secret, stored sealed as pending until
// confirmed by EnableMFA. Errors: ECONFLICT if MFA is already on.
func (s *Service) SetupMFA(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, ip string) (*MFASetup, error) {
	if admin.MFAEnabled {
		return nil, steeple.Errorf(steeple.ECONFLICT, "MFA is already enabled; disable it first")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Steeple (" + h.Tenant().Name + ")", AccountName: admin.Email,
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, err
	}
	if err := s.store.SetPendingTOTP(ctx, h, admin.ID, key.Secret()); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, h, admin.ID, "mfa.setup", admin.ID, ip, ""); err != nil {
		return nil, err
	}
	return mfaSetupOf(key)
}

// PendingMFA shows again the secret SetupMFA made and EnableMFA has not
// confirmed yet (after a mistyped first code). Errors: ENOTFOUND when
// none is pending.
func (s *Service) PendingMFA(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin) (*MFASetup, error) {
	a, err := s.store.Admin(ctx, h, admin.ID)
	if err != nil {
		return nil, err
	}
	if a.TOTPPending == "" {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "no two-step sign-in setup is pending")
	}
	issuer := "Steeple (" + h.Tenant().Name + ")"
	key, err := otp.NewKeyFromURL("otpauth://totp/" + url.PathEscape(issuer) + ":" + url.PathEscape(admin.Email) +
		"?secret=" + a.TOTPPending + "&issuer=" + url.QueryEscape(issuer) + "&period=30&digits=6&algorithm=SHA1")
	if err != nil {
		return nil, err
	}
	return mfaSetupOf(key)
}

// mfaSetupOf is what an authenticator app scans: the URI and its QR code.
func mfaSetupOf(key *otp.Key) (*MFASetup, error) {
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return &MFASetup{OTPAuthURI: key.URL(), QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// EnableMFA confirms the pending secret with a current code and returns ten
// single-use recovery codes (stored hashed; shown only now).
func (s *Service) EnableMFA(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, code, ip string) ([]string, error) {
	a, err := s.store.Admin(ctx, h, admin.ID)
	if err != nil {
		return nil, err
	}
	if a.MFAEnabled {
		return nil, steeple.Errorf(steeple.ECONFLICT, "MFA is already enabled")
	}
	if a.TOTPPending == "" {
		return nil, steeple.Errorf(steeple.EINVALID, "start with POST /api/v1/mfa/setup")
	}
	step, ok := matchTOTP(a.TOTPPending, code, s.now())
	if !ok {
		return nil, steeple.FieldError("code", "does not match; check the authenticator app's time")
	}
	codes := make([]string, 10)
	hashes := make([]string, 10)
	for i := range codes {
		codes[i] = recoveryCode()
		hashes[i] = store.TokenHash(codes[i])
	}
	if err := s.store.EnableMFA(ctx, h, a.ID, a.TOTPPending, step, hashes); err != nil {
		return nil, err
	}
	return codes, s.audit(ctx, h, a.ID, "mfa.enabled", a.ID, ip, "")
}

// DisableMFA turns MFA off after checking a current code.
func (s *Service) DisableMFA(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, code, ip string) error {
	a, err := s.store.Admin(ctx, h, admin.ID)
	if err != nil {
		return err
	}
	if !a.MFAEnabled {
		return steeple.Errorf(steeple.ECONFLICT, "MFA is not enabled")
	}
	ok, _, err := s.verifySecondFactor(ctx, h, a, code, "")
	if err != nil {
		return err
	}
	if !ok {
		return steeple.FieldError("code", "is not a current code")
	}
	if err := s.store.DisableMFA(ctx, h, a.ID); err != nil {
		return err
	}
	return s.audit(ctx, h, a.ID, "mfa.disabled", a.ID, ip, "")
}

package auth

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Invited is an invitation and how to accept it. With no mail transport
// configured the link is logged and returned to the owner to pass on.
type Invited struct {
	Invitation *store.Invitation `json:"invitation"`
	AcceptURL  string            `json:"accept_url"`
	Token      string            `json:"token"`
}

func requireOwner(a *steeple.Admin) error {
	if a.Role != steeple.RoleOwner {
		return steeple.Errorf(steeple.EFORBIDDEN, "only an owner may do this")
	}
	return nil
}

// plan returns the church's plan limits (an unknown plan has none).
func (s *Service) plan(h *tenancy.Handle) steeple.Plan {
	p := s.cfg.Plans[h.Tenant().Plan]
	p.Name = h.Tenant().Plan
	return p
}

// Invite asks someone to become an admin of the church. Only owners may;
// the plan's admin limit counts admins and pending invitations.
func (s *Service) Invite(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin, rawEmail, ip string, log *slog.Logger) (*Invited, error) {
	if err := requireOwner(owner); err != nil {
		return nil, err
	}
	email, msg := NormalizeEmail(rawEmail)
	if msg != "" {
		return nil, steeple.FieldError("email", msg)
	}
	if _, err := s.store.AdminByEmail(ctx, h, email); err == nil {
		return nil, steeple.Errorf(steeple.ECONFLICT, "%s is already an admin of this church", email)
	} else if steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return nil, err
	}
	token := opaque("inv1", h.TenantID())
	inv, err := s.store.CreateInvitation(ctx, h, email, steeple.RoleAdmin, owner.ID, store.TokenHash(token), InvitationTTL, s.plan(h))
	if err != nil {
		return nil, err
	}
	link := strings.TrimRight(s.cfg.PublicURL, "/") + "/invitations/accept?token=" + url.QueryEscape(token)
	log.Info("admin invitation (no mail transport configured: pass this link on)", "church", h.TenantID(), "email", email, "accept_url", link)
	if err := s.auditPersonal(ctx, h, owner.ID, "admin.invited", inv.ID, ip, email); err != nil {
		return nil, err
	}
	return &Invited{Invitation: inv, AcceptURL: link, Token: token}, nil
}

// AcceptRequest accepts an invitation.
type AcceptRequest struct {
	Token    string `json:"token"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// AcceptInvitation creates the invited admin and adds it to the login
// index, then logs it in. Errors: ENOTFOUND for a token that is unknown,
// expired, used or altered.
func (s *Service) AcceptInvitation(ctx context.Context, req AcceptRequest, ip string) (*LoginResult, error) {
	fe := fieldErrors{}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		fe.add("name", "is required")
	}
	fe.add("password", ValidatePassword(req.Password))
	if req.Token == "" {
		fe.add("token", "is required")
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	notFound := steeple.Errorf(steeple.ENOTFOUND, "invitation not found, expired or already used")
	tenantID := opaqueTenant("inv1", req.Token)
	if tenantID == "" {
		return nil, notFound
	}
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.ESUSPENDED {
			return nil, notFound
		}
		return nil, err
	}
	defer h.Release()
	invited, err := s.store.InvitationEmail(ctx, h, store.TokenHash(req.Token))
	if err != nil {
		return nil, err
	}
	if msg := ValidatePassword(req.Password, invited, h.Tenant().Name); msg != "" {
		return nil, steeple.FieldError("password", msg)
	}
	hash, err := HashPassword(req.Password)
	if err != nil {
		return nil, err
	}
	adm, err := s.store.AcceptInvitation(ctx, h, store.TokenHash(req.Token), name, hash, s.plan(h))
	if err != nil {
		return nil, err
	}
	if err := s.ten.Registry.AddLogin(ctx, s.store.EmailIndex(adm.Email), tenantID, adm.ID); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, h, adm.ID, "admin.joined", adm.ID, ip, ""); err != nil {
		return nil, err
	}
	sess, err := s.issueSession(ctx, h, adm.ID, adm.Role)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Tenant: &Church{ID: tenantID, Name: h.Tenant().Name}, Session: sess}, nil
}

// RemoveAdmin deletes an admin (owners only; never the last owner) and its
// login entry. Errors: ENOTFOUND for an id not in this church.
func (s *Service) RemoveAdmin(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin, id, ip string) error {
	if err := requireOwner(owner); err != nil {
		return err
	}
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	removed, err := s.store.DeleteAdmin(ctx, h, id)
	if err != nil {
		return err
	}
	if err := s.ten.Registry.RemoveLogin(ctx, s.store.EmailIndex(removed.Email), h.TenantID(), removed.ID); err != nil {
		return err
	}
	return s.auditPersonal(ctx, h, owner.ID, "admin.removed", removed.ID, ip, removed.Email)
}

// Admins lists the church's admins.
func (s *Service) Admins(ctx context.Context, h *tenancy.Handle) ([]steeple.Admin, error) {
	return s.store.Admins(ctx, h)
}

// AuditLog returns the audit log to an owner.
func (s *Service) AuditLog(ctx context.Context, h *tenancy.Handle, caller *steeple.Admin, before int64, limit int) ([]store.AuditEntry, error) {
	if err := requireOwner(caller); err != nil {
		return nil, err
	}
	return s.store.AuditLog(ctx, h, before, limit)
}

package auth

import (
	"context"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Invited is an invitation and whether its link was mailed. The link is
// a credential: it goes only to the invited address, never to the owner,
// the response or the log.
type Invited struct {
	Invitation *store.Invitation `json:"invitation"`
	Mailed     bool              `json:"mailed"`
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

// Invite asks someone to become an admin of the church with role ("" is
// admin). Only owners of a church whose gate is open may; the plan's admin
// limit counts admins and pending invitations. It returns the invitation
// and a deliver function that mails the link: call it after releasing h.
func (s *Service) Invite(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin, rawEmail string, role steeple.Role, ip string) (*Invited, func(context.Context) error, error) {
	if err := requireOwner(owner); err != nil {
		return nil, nil, err
	}
	email, err := steeple.NormalizeEmail("email", rawEmail)
	if err != nil {
		return nil, nil, err
	}
	if role == "" {
		role = steeple.RoleAdmin
	}
	if role, err = steeple.ParseRole("role", string(role)); err != nil {
		return nil, nil, err
	}
	if err := s.RequireOpenGate(ctx, h); err != nil {
		return nil, nil, err
	}
	return s.invite(ctx, h, email, role, owner.ID, owner.Name, ip)
}

// OperatorInvite is an operator's invitation (`steeple admins invite`,
// `steeple tenants create --admin-email`): with any role, to any
// church, with no owner to invite and no gate to pass. The plan's admin
// limit still holds. Errors: EINVALID email or role, ECONFLICT already an
// admin, EFORBIDDEN over the limit.
func (s *Service) OperatorInvite(ctx context.Context, h *tenancy.Handle, rawEmail string, role steeple.Role) (*Invited, func(context.Context) error, error) {
	email, err := steeple.NormalizeEmail("email", rawEmail)
	if err != nil {
		return nil, nil, err
	}
	if role, err = steeple.ParseRole("role", string(role)); err != nil {
		return nil, nil, err
	}
	return s.invite(ctx, h, email, role, OperatorActor, "Steeple's operator", "")
}

// OperatorActor names the operator in audit records.
const OperatorActor = "operator"

// invite stores an invitation for a normalised email that is not an admin
// yet, audits it and returns the deliver function that mails the link.
func (s *Service) invite(ctx context.Context, h *tenancy.Handle, email string, role steeple.Role, actorID, inviter, ip string) (*Invited, func(context.Context) error, error) {
	if _, err := s.store.AdminByEmail(ctx, h, email); err == nil {
		return nil, nil, steeple.Errorf(steeple.ECONFLICT, "%s is already an admin of this church", email)
	} else if steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return nil, nil, err
	}
	token := opaque("inv1", h.TenantID())
	inv, err := s.store.CreateInvitation(ctx, h, email, role, actorID, store.TokenHash(token), InvitationTTL, s.plan(h))
	if err != nil {
		return nil, nil, err
	}
	if err := s.auditPersonal(ctx, h, actorID, "admin.invited", inv.ID, ip, email); err != nil {
		return nil, nil, err
	}
	link, church := s.link("/invitations/accept", token), h.Tenant().Name
	as := ""
	if role == steeple.RoleOwner {
		as = " as its owner"
	}
	res := &Invited{Invitation: inv}
	deliver := func(ctx context.Context) error {
		err := s.cfg.Mail.Send(ctx, mail.Message{To: email,
			Subject: inviter + " invited you to " + church + " on Steeple / Invitación",
			Text: inviter + " invited you to help text " + church + "'s members on Steeple" + as + ". Open this link to accept (it works once, for 7 days):\n\n" +
				link + "\n\n" + inviter + " le invitó a " + church + " en Steeple. Abra este enlace para aceptar:\n\n" + link + "\n"})
		if err != nil {
			s.mailFailed("invitation", err)
			return err
		}
		res.Mailed = true
		return nil
	}
	return res, deliver, nil
}

// Invitations lists the church's pending invitations (not accepted, not
// expired) to an owner.
func (s *Service) Invitations(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin) ([]store.Invitation, error) {
	if err := requireOwner(owner); err != nil {
		return nil, err
	}
	return s.store.PendingInvitationList(ctx, h)
}

// RevokeInvitation deletes a pending invitation, so its link stops
// working. Errors: ENOTFOUND for an id not pending in this church.
func (s *Service) RevokeInvitation(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin, id, ip string) error {
	if err := requireOwner(owner); err != nil {
		return err
	}
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "invitation not found")
	}
	if err := s.store.RevokeInvitation(ctx, h, id); err != nil {
		return err
	}
	return s.audit(ctx, h, owner.ID, "admin.invitation_revoked", id, ip, "")
}

// ResendInvitation replaces a pending invitation by a new one to the same
// address with the same role: the old link stops working. Owners only.
// Errors: EFORBIDDEN, ENOTFOUND.
func (s *Service) ResendInvitation(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin, id, ip string) (*Invited, func(context.Context) error, error) {
	pending, err := s.Invitations(ctx, h, owner)
	if err != nil {
		return nil, nil, err
	}
	for _, inv := range pending {
		if inv.ID == id {
			if err := s.RevokeInvitation(ctx, h, owner, id, ip); err != nil {
				return nil, nil, err
			}
			return s.Invite(ctx, h, owner, inv.Email, inv.Role, ip)
		}
	}
	return nil, nil, steeple.Errorf(steeple.ENOTFOUND, "invitation not found")
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
	return s.acceptInvitation(ctx, req, ip, s.grantAPI)
}

// WebAcceptInvitation is AcceptInvitation for the web app: the new admin
// is signed in with a web session (LoginResult.WebSession).
func (s *Service) WebAcceptInvitation(ctx context.Context, req AcceptRequest, c WebClient) (*LoginResult, error) {
	return s.acceptInvitation(ctx, req, c.IP, s.grantWeb(c))
}

// InvitationTarget tells which church and email an invitation link is
// for, without spending it (for the accept page). Errors: ENOTFOUND.
func (s *Service) InvitationTarget(ctx context.Context, token string) (*Church, string, error) {
	notFound := steeple.Errorf(steeple.ENOTFOUND, "invitation not found, expired or already used")
	tenantID := opaqueTenant("inv1", token)
	if tenantID == "" {
		return nil, "", notFound
	}
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.ESUSPENDED {
			return nil, "", notFound
		}
		return nil, "", err
	}
	defer h.Release()
	email, err := s.store.InvitationEmail(ctx, h, store.TokenHash(token))
	if err != nil {
		return nil, "", err
	}
	return &Church{ID: tenantID, Name: h.Tenant().Name}, email, nil
}

func (s *Service) acceptInvitation(ctx context.Context, req AcceptRequest, ip string, grant grantFunc) (*LoginResult, error) {
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
	rec, err := s.store.Admin(ctx, h, adm.ID)
	if err != nil {
		return nil, err
	}
	res := &LoginResult{Tenant: &Church{ID: tenantID, Name: h.Tenant().Name}}
	return res, grant(ctx, h, rec, res)
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
	if err := s.ten.Registry.RemoveLogin(ctx, h.TenantID(), removed.ID, s.store.EmailIndexes(removed.Email)...); err != nil {
		return err
	}
	return s.auditPersonal(ctx, h, owner.ID, "admin.removed", removed.ID, ip, removed.Email)
}

// Admins lists the church's admins.
func (s *Service) Admins(ctx context.Context, h *tenancy.Handle) ([]steeple.Admin, error) {
	return s.store.Admins(ctx, h)
}

// AuditLog returns the audit log to an owner.
func (s *Service) AuditLog(ctx context.Context, h *tenancy.Handle, caller *steeple.Admin, prefix string, before int64, limit int) ([]store.AuditEntry, error) {
	if err := requireOwner(caller); err != nil {
		return nil, err
	}
	return s.store.AuditLog(ctx, h, prefix, before, limit)
}

// ChangeRole sets an admin's role. Only owners may, and the last owner
// cannot stop being one. Every request re-reads its admin, so the new role
// applies from the admin's next request.
// Errors: EFORBIDDEN, ENOTFOUND, EINVALID, ECONFLICT (last owner).
func (s *Service) ChangeRole(ctx context.Context, h *tenancy.Handle, owner *steeple.Admin, id, rawRole, ip string) (*steeple.Admin, error) {
	if err := requireOwner(owner); err != nil {
		return nil, err
	}
	role, err := steeple.ParseRole("role", rawRole)
	if err != nil {
		return nil, err
	}
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "admin not found")
	}
	a, err := s.store.SetAdminRole(ctx, h, id, role)
	if err != nil {
		return nil, err
	}
	return a, s.audit(ctx, h, owner.ID, "admin.role_changed", id, ip, string(role))
}

package tenancy

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
)

// Number is a church's phone number as the registry knows it.
type Number struct {
	E164          string              `json:"number"`
	TenantID      string              `json:"-"`
	ProviderID    string              `json:"-"`
	State         steeple.NumberState `json:"state"`
	ReleaseAt     *time.Time          `json:"release_at,omitempty"`
	CampaignState string              `json:"campaign_state,omitempty"`
	// CampaignReasons are the provider's, when the assignment failed.
	CampaignReasons string `json:"campaign_reasons,omitempty"`
	// CampaignAttempts counts the failed assignment tries; CampaignRetryAt
	// is when the next may be made (nil: at once, or none is planned).
	CampaignAttempts int        `json:"campaign_attempts,omitempty"`
	CampaignRetryAt  *time.Time `json:"campaign_retry_at,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
}

// CampaignAssigned is the campaign_state of a number assigned to its
// church's provisioned 10DLC campaign: the only one that sends at the
// registered rate.
const CampaignAssigned = "assigned"

const numberColumns = `e164, tenant_id, provider_id, state, release_at, campaign_state, campaign_reasons, created_at,
	campaign_attempts, campaign_retry_at FROM phone_numbers`

func scanNumber(row interface{ Scan(...any) error }) (*Number, error) {
	var n Number
	var rel, retry sql.NullInt64
	if err := row.Scan(&n.E164, &n.TenantID, &n.ProviderID, &n.State, &rel, &n.CampaignState, &n.CampaignReasons,
		&n.CreatedAt, &n.CampaignAttempts, &retry); err != nil {
		return nil, err
	}
	if retry.Valid {
		t := time.Unix(retry.Int64, 0).UTC()
		n.CampaignRetryAt = &t
	}
	n.CreatedAt = n.CreatedAt.UTC()
	if rel.Valid {
		t := time.Unix(rel.Int64, 0).UTC()
		n.ReleaseAt = &t
	}
	return &n, nil
}

func (r *Registry) queryNumbers(ctx context.Context, where string, args ...any) ([]*Number, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+numberColumns+` WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Number{}
	for rows.Next() {
		n, err := scanNumber(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ChurchNumbers lists every number a church owns, releasing ones included.
func (r *Registry) ChurchNumbers(ctx context.Context, tenantID string) ([]*Number, error) {
	return r.queryNumbers(ctx, `tenant_id = $1 ORDER BY created_at, e164`, tenantID)
}

// ChurchNumber returns one number of a church. Errors: ENOTFOUND when the
// church does not own it (whoever does).
func (r *Registry) ChurchNumber(ctx context.Context, tenantID, e164 string) (*Number, error) {
	n, err := scanNumber(r.db.QueryRowContext(ctx, `SELECT `+numberColumns+` WHERE e164 = $1 AND tenant_id = $2`, e164, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "number not found")
	}
	return n, err
}

// StartRelease stops sending from a church's number at once and schedules
// its release at the provider for at. Errors: ENOTFOUND, ECONFLICT when it
// is being released already.
func (r *Registry) StartRelease(ctx context.Context, tenantID, e164 string, at time.Time) error {
	return r.moveNumber(ctx, tenantID, e164, `state = 'releasing', release_at = $3`, `state = 'active'`, at.Unix(),
		"this number is being released already")
}

// UndoRelease keeps a number being released, if its release time has not
// come. Errors: ENOTFOUND, ECONFLICT when it is not being released or it is
// too late.
func (r *Registry) UndoRelease(ctx context.Context, tenantID, e164 string, now time.Time) error {
	return r.moveNumber(ctx, tenantID, e164, `state = 'active', release_at = NULL`, `state = 'releasing' AND release_at > $3`, now.Unix(),
		"this number is not being released, or its release time has passed")
}

func (r *Registry) moveNumber(ctx context.Context, tenantID, e164, set, cond string, at int64, conflict string) error {
	res, err := r.db.ExecContext(ctx, `UPDATE phone_numbers SET `+set+` WHERE e164 = $1 AND tenant_id = $2 AND `+cond,
		e164, tenantID, at)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := r.ChurchNumber(ctx, tenantID, e164); err != nil {
		return err
	}
	return steeple.Errorf(steeple.ECONFLICT, "%s", conflict)
}

// DueReleases lists numbers whose release time has come, oldest first.
func (r *Registry) DueReleases(ctx context.Context, now time.Time, limit int) ([]*Number, error) {
	return r.queryNumbers(ctx, `state = 'releasing' AND release_at <= $1 ORDER BY release_at LIMIT $2`, now.Unix(), limit)
}

// ForgetNumber removes a released number, if it is still the church's and
// being released; the number may then be bought by any church.
func (r *Registry) ForgetNumber(ctx context.Context, tenantID, e164 string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM phone_numbers WHERE e164 = $1 AND tenant_id = $2 AND state = 'releasing'`, e164, tenantID)
	return err
}

// SetCampaignState records a number's 10DLC assignment state, with the
// provider's reasons when it failed.
func (r *Registry) SetCampaignState(ctx context.Context, tenantID, e164, state string, reasons ...string) error {
	_, err := r.db.ExecContext(ctx, `UPDATE phone_numbers SET campaign_state = $1, campaign_reasons = $4 WHERE e164 = $2 AND tenant_id = $3`,
		state, e164, tenantID, strings.Join(reasons, "; "))
	return err
}

// FailCampaignAssignment records a failed campaign assignment try: state
// failed with the reasons, one more failed try, and when the next may be
// made (nil: no more automatic tries). tried is the count of failed tries
// the try was made after: two syncs of the church that tried at the same
// moment (a webhook's and the poller's) record it once, not as two tries
// (which left a number one automatic retry short).
func (r *Registry) FailCampaignAssignment(ctx context.Context, tenantID, e164, reasons string, retryAt *time.Time, tried int) error {
	var at any
	if retryAt != nil {
		at = retryAt.Unix()
	}
	_, err := r.db.ExecContext(ctx, `UPDATE phone_numbers SET campaign_state = 'failed', campaign_reasons = $1,
		campaign_attempts = campaign_attempts + 1, campaign_retry_at = $2 WHERE e164 = $3 AND tenant_id = $4
		AND campaign_attempts = $5`,
		reasons, at, e164, tenantID, tried)
	return err
}

// AssignNumber records that a church owns a phone number (E.164); a number
// belongs to exactly one church. Assigning it again to its owner is fine.
// providerID is the provider's id for the number ("" if unknown).
// Errors: ECONFLICT when another church owns it (without saying which).
func (r *Registry) AssignNumber(ctx context.Context, tenantID, e164 string, providerID ...string) error {
	if _, err := r.Tenant(ctx, tenantID); err != nil {
		return err
	}
	pid := ""
	if len(providerID) > 0 {
		pid = providerID[0]
	}
	_, err := r.db.ExecContext(ctx, `INSERT INTO phone_numbers (e164, tenant_id, created_at, provider_id) VALUES ($1, $2, $3, $4)`,
		e164, tenantID, r.now().UTC(), pid)
	if IsUniqueViolation(err) {
		var owner string
		if r.db.QueryRowContext(ctx, `SELECT tenant_id FROM phone_numbers WHERE e164 = $1`, e164).Scan(&owner) == nil && owner == tenantID {
			return nil
		}
		return steeple.Errorf(steeple.ECONFLICT, "number %s already belongs to a church", e164)
	}
	return err
}

// SendingNumbers lists the numbers a church may send from (owned and not
// being released), oldest first; ChurchNumbers lists all it owns.
func (r *Registry) SendingNumbers(ctx context.Context, tenantID string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT e164 FROM phone_numbers WHERE tenant_id = $1 AND state = 'active'
		ORDER BY created_at, e164`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// NumberOwner returns the church that owns a phone number (E.164): the one
// lookup that routes an inbound text. Errors: ENOTFOUND when no church owns it.
func (r *Registry) NumberOwner(ctx context.Context, e164 string) (string, error) {
	var id string
	err := r.db.QueryRowContext(ctx, `SELECT tenant_id FROM phone_numbers WHERE e164 = $1`, e164).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", steeple.Errorf(steeple.ENOTFOUND, "no church owns %s", e164)
	}
	return id, err
}

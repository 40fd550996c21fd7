package numbers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// Order starts buying a number for a church: the order is recorded in the
// registry before the provider is asked, then a job waits for the number
// to become active, puts it in the church's messaging profile and gives it
// to the church. It answers the order as it stands (usually "ordered").
// Errors: EINVALID, ECONFLICT when the number is taken or being bought,
// EUNAVAILABLE when the provider does not answer.
func (s *Service) Order(ctx context.Context, tenantID, raw string) (*tenancy.NumberOrder, error) {
	e164, err := NormalizeNumber(raw)
	if err != nil {
		return nil, err
	}
	o, err := s.ten.Registry.CreateNumberOrder(ctx, tenantID, e164)
	if err != nil {
		return nil, err
	}
	profile, err := s.ensureProfile(ctx, tenantID)
	if err != nil {
		return nil, s.fail(ctx, o, tenancy.OrderPlacing, "could not set up the messaging profile", err)
	}
	po, err := s.client.OrderNumbers(ctx, telnyx.NumberOrderRequest{PhoneNumbers: []string{e164}, MessagingProfileID: profile,
		CustomerReference: o.ID})
	if err != nil {
		if telnyx.Retryable(err) {
			// The order may or may not have reached the provider: the
			// recovery job finds out (by the customer reference) and goes on.
			s.log.Warn("number order outcome unknown; recovery will settle it", "order", o.ID, "err", err)
			return o, nil
		}
		return nil, s.fail(ctx, o, tenancy.OrderPlacing, "the provider refused the order", err)
	}
	o.ProviderOrderID = po.ID
	if _, err := s.ten.Registry.AdvanceNumberOrder(ctx, o, tenancy.OrderPlacing, tenancy.OrderOrdered, ""); err != nil {
		return nil, err
	}
	s.drive(ctx, o.ID)
	return o, nil
}

// fail marks an order failed and returns what the church should hear.
func (s *Service) fail(ctx context.Context, o *tenancy.NumberOrder, from, why string, cause error) error {
	if _, err := s.ten.Registry.AdvanceNumberOrder(ctx, o, from, tenancy.OrderFailed, why+": "+cause.Error()); err != nil {
		return err
	}
	return providerError(cause)
}

// drive queues the job that moves an order on (a failure is left to the
// recovery job).
func (s *Service) drive(ctx context.Context, orderID string) {
	if _, err := s.queue.InsertTx(ctx, nil, []river.InsertManyParams{{Args: OrderArgs{OrderID: orderID}}}); err != nil {
		s.log.Warn("number order job not queued; recovery will", "order", orderID, "err", err)
	}
}

// OrderArgs is the job moving one number order on.
type OrderArgs struct {
	OrderID string `json:"order_id"`
}

// Kind names the job.
func (OrderArgs) Kind() string { return "number_order" }

// InsertOpts keeps one job per order.
func (OrderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type orderWorker struct {
	river.WorkerDefaults[OrderArgs]
	svc *Service
}

func (w *orderWorker) Work(ctx context.Context, job *river.Job[OrderArgs]) error {
	wait, err := w.svc.advance(ctx, job.Args.OrderID)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// advance moves an order as far as it can go now. It answers how long to
// wait before looking again (0: finished, failed or done).
func (s *Service) advance(ctx context.Context, orderID string) (time.Duration, error) {
	o, err := s.ten.Registry.NumberOrderByID(ctx, orderID)
	if err != nil {
		return 0, err
	}
	if o.Step == tenancy.OrderPlacing {
		if wait, err := s.settlePlacing(ctx, o); err != nil || wait > 0 || o.Step != tenancy.OrderOrdered {
			return wait, err
		}
	}
	if o.Step == tenancy.OrderOrdered {
		wait, err := s.activate(ctx, o)
		if refused(err) && s.cfg.Now().Sub(o.CreatedAt) >= s.cfg.GiveUpAfter {
			// A step the provider keeps refusing (the profile, say) is
			// given up like an order never filled, not retried for ever.
			// An outage or a registry error is only waited out.
			return 0, s.undo(ctx, o, fmt.Sprintf("not finished after %s: %v", s.cfg.GiveUpAfter, err))
		}
		if err != nil || wait > 0 || o.Step != tenancy.OrderActive {
			return wait, err
		}
	}
	if o.Step == tenancy.OrderActive {
		err := s.ten.Registry.CompleteNumberOrder(ctx, o)
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			// Another church was given the number meanwhile (an operator
			// attached it): it is that church's now, so it stays in the
			// account; only the order fails.
			_, err := s.ten.Registry.AdvanceNumberOrder(ctx, o, tenancy.OrderActive, tenancy.OrderFailed, err.Error())
			return 0, err
		}
		if err != nil {
			return 0, err
		}
		s.added(ctx, o.TenantID, o.E164)
	}
	return 0, nil
}

// settlePlacing finds out whether an order whose provider call did not
// answer reached the provider: the account's number carrying the order's
// reference means it did. An order that never arrived is failed once it is
// older than StuckAfter (nothing to undo).
func (s *Service) settlePlacing(ctx context.Context, o *tenancy.NumberOrder) (time.Duration, error) {
	n, err := s.providerNumber(ctx, o.E164)
	if err != nil {
		return 0, err
	}
	if n != nil && n.CustomerReference == o.ID {
		o.ProviderNumberID = n.ID
		_, err := s.ten.Registry.AdvanceNumberOrder(ctx, o, tenancy.OrderPlacing, tenancy.OrderOrdered, "")
		return 0, err
	}
	if s.cfg.Now().Sub(o.CreatedAt) < s.cfg.StuckAfter {
		return s.cfg.OrderPollEvery, nil
	}
	_, err = s.ten.Registry.AdvanceNumberOrder(ctx, o, tenancy.OrderPlacing, tenancy.OrderFailed, "the order never reached the provider")
	return 0, err
}

// activate waits for the provider's order to succeed, then puts the
// number in the church's messaging profile.
func (s *Service) activate(ctx context.Context, o *tenancy.NumberOrder) (time.Duration, error) {
	if o.ProviderOrderID != "" {
		po, err := s.client.GetNumberOrder(ctx, o.ProviderOrderID)
		if err != nil {
			return 0, err
		}
		switch po.Status {
		case telnyx.OrderFailure:
			_, err := s.ten.Registry.AdvanceNumberOrder(ctx, o, tenancy.OrderOrdered, tenancy.OrderFailed, "the provider could not fill the order")
			return 0, err
		case telnyx.OrderSuccess:
		default:
			return s.waitOrGiveUp(ctx, o)
		}
	}
	n, err := s.providerNumber(ctx, o.E164)
	if err != nil {
		return 0, err
	}
	if n == nil || n.Status != telnyx.NumberActive {
		return s.waitOrGiveUp(ctx, o)
	}
	profile, err := s.ensureProfile(ctx, o.TenantID)
	if err != nil {
		return 0, err
	}
	if n.MessagingProfileID != profile {
		if _, err := s.client.UpdateNumberMessaging(ctx, n.ID, profile); err != nil {
			return 0, err
		}
	}
	o.ProviderNumberID = n.ID
	_, err = s.ten.Registry.AdvanceNumberOrder(ctx, o, tenancy.OrderOrdered, tenancy.OrderActive, "")
	return 0, err
}

// waitOrGiveUp waits for a pending order, undoing it once it has taken
// longer than GiveUpAfter.
func (s *Service) waitOrGiveUp(ctx context.Context, o *tenancy.NumberOrder) (time.Duration, error) {
	if s.cfg.Now().Sub(o.CreatedAt) < s.cfg.GiveUpAfter {
		return s.cfg.OrderPollEvery, s.ten.Registry.TouchNumberOrder(ctx, o.ID)
	}
	return 0, s.undo(ctx, o, fmt.Sprintf("not finished after %s", s.cfg.GiveUpAfter))
}

// undo gives a half-bought number back to the provider and fails the order.
func (s *Service) undo(ctx context.Context, o *tenancy.NumberOrder, why string) error {
	if err := s.releaseAtProvider(ctx, o.E164, o.ProviderNumberID); err != nil {
		return err
	}
	_, err := s.ten.Registry.AdvanceNumberOrder(ctx, o, o.Step, tenancy.OrderFailed, why)
	return err
}

// refused reports a provider answer that trying again will not change: a
// 4xx other than 429.
func refused(err error) bool {
	var te *telnyx.Error
	return errors.As(err, &te) && te.Status >= 400 && te.Status < 500 && te.Status != http.StatusTooManyRequests
}

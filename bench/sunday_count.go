package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// waitSunday waits until every church's broadcast is sent and its receipts
// applied (no recipient queued, sending or merely sent), saying how far it
// is; it gives up at once when alive (if set) reports a dead server.
//
// A church's database is read only once the simulator holds every text the
// church can still send (its members less those who texted STOP): reading
// each one every 2 s through the run's connection budget measured the
// bench, not Steeple — on PostgreSQL it started about 15 server
// connections a second (30 churches over 20 pooled connections).
func waitSunday(ctx context.Context, r *runner, ten *tenancy.Tenancy, sim *telnyxsim.Sim, fleet []*sundayChurch, stops []*sundayStop, limit time.Duration, alive func() error) error {
	stopped := map[*sundayChurch]int{}
	for _, st := range stops {
		stopped[st.church]++
	}
	deadline := time.Now().Add(limit)
	left := append([]*sundayChurch(nil), fleet...)
	for len(left) > 0 {
		if alive != nil {
			if err := alive(); err != nil {
				return err
			}
		}
		var still []*sundayChurch
		pending := 0
		for _, c := range left {
			n := c.members - sim.CountFrom(c.number)
			if n <= stopped[c] {
				var err error
				if n, err = unfinished(ctx, ten, c.id); err != nil {
					return err
				}
			}
			if n > 0 {
				still = append(still, c)
				pending += n
			}
		}
		left = still
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d churches still had %d recipients unfinished after %s", len(left), pending, limit)
		}
		r.logf("%d churches still sending or awaiting receipts (%d recipients)", len(left), pending)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return nil
}

func unfinished(ctx context.Context, ten *tenancy.Tenancy, id string) (int, error) {
	h, err := ten.Manager.Acquire(ctx, id)
	if err != nil {
		return 0, err
	}
	defer h.Release()
	var n int
	err = h.QueryRowContext(ctx, `SELECT COUNT(*) FROM message_recipients WHERE status IN ($1, $2, $3)`,
		steeple.RecipientQueued, steeple.RecipientSending, steeple.RecipientSent).Scan(&n)
	return n, err
}

// registeredRate is messaging's default registered pace, which the run uses.
const registeredRate = 75.0

// sundayResult is what the churches' databases and the simulator's record say.
type sundayResult struct {
	sent       int           // texts the simulator accepted from the fleet
	span       time.Duration // first broadcast asked → last text accepted
	lost, dups int
	afterStop  int
	stopMS     []float64
	receiptLag []float64
	// Churches of at most 300 recipients: asked → their last text, what
	// their number's pace allows for their size, and the ratio.
	smallSeconds, smallPace, smallRatio []float64
	// busyRate is texts a second until the last small church was done,
	// over busySpan: the pipeline's rate while the whole fleet sends.
	busyRate float64
	busySpan time.Duration
}

// countSunday compares every church's recipients with the simulator's
// record: each recipient once (or skipped after a STOP), receipts applied,
// STOPs recorded in time.
func countSunday(ctx context.Context, ten *tenancy.Tenancy, s *sundayStack, fleet []*sundayChurch, stops []*sundayStop) (*sundayResult, error) {
	res := &sundayResult{}
	byID := map[string]telnyxsim.SentMessage{}
	perPair := map[[2]string]int{}
	lastFrom := map[string]time.Time{}
	sentTo := map[[2]string][]time.Time{}
	first := time.Now()
	for _, c := range fleet {
		first = minTime(first, c.asked)
	}
	var last time.Time
	messages := s.sim.Messages()
	for _, m := range messages {
		byID[m.ID] = m
		perPair[[2]string{m.From, m.To}]++
		sentTo[[2]string{m.From, m.To}] = append(sentTo[[2]string{m.From, m.To}], m.ReceivedAt)
		if m.ReceivedAt.After(lastFrom[m.From]) {
			lastFrom[m.From] = m.ReceivedAt
		}
		if m.ReceivedAt.After(last) {
			last = m.ReceivedAt
		}
		res.sent++
	}
	res.span = last.Sub(first)
	for _, n := range perPair {
		res.dups += n - 1
	}
	stopped := map[string]*sundayStop{}
	for _, st := range stops {
		stopped[st.church.id+"/"+st.phone] = st
	}
	var busyEnd time.Time
	for _, c := range fleet {
		applied, err := countChurch(ctx, ten, c, byID, stopped, res)
		if err != nil {
			return nil, err
		}
		for phone, at := range applied {
			st := stopped[c.id+"/"+phone]
			res.stopMS = append(res.stopMS, max(0, ms(at.Sub(st.acked))))
			for _, sent := range sentTo[[2]string{c.number, phone}] {
				if sent.After(at) {
					res.afterStop++
				}
			}
		}
		if c.members <= 300 {
			took := lastFrom[c.number].Sub(c.asked).Seconds()
			pace := float64(c.members-1) / registeredRate
			res.smallSeconds = append(res.smallSeconds, took)
			res.smallPace = append(res.smallPace, pace)
			res.smallRatio = append(res.smallRatio, took/pace)
			busyEnd = maxTime(busyEnd, lastFrom[c.number])
		}
	}
	if res.busySpan = busyEnd.Sub(first); res.busySpan > 0 {
		n := 0
		for _, m := range messages {
			if !m.ReceivedAt.After(busyEnd) {
				n++
			}
		}
		res.busyRate = float64(n) / res.busySpan.Seconds()
	}
	return res, nil
}

// countChurch adds one church's recipients to res and returns when each of
// its STOPs was applied (the opt-out's consent event), by phone.
func countChurch(ctx context.Context, ten *tenancy.Tenancy, c *sundayChurch, byID map[string]telnyxsim.SentMessage,
	stopped map[string]*sundayStop, res *sundayResult) (map[string]time.Time, error) {
	h, err := ten.Manager.Acquire(ctx, c.id)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	phoneOf := func(first string) string {
		i, _ := strconv.Atoi(strings.TrimPrefix(first, "M"))
		return memberPhone(c.firstPhone + i)
	}
	// updated_at is when Steeple applied the last change (the final
	// receipt, for a delivered text); finished_at is the provider's own
	// time in the receipt, which says nothing of the lag.
	rows, err := h.QueryContext(ctx, `SELECT r.status, COALESCE(r.provider_id, ''), r.updated_at, m.first_name
		FROM message_recipients r JOIN members m ON m.id = r.member_id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var status, providerID, first string
		var applied *time.Time
		if err := rows.Scan(&status, &providerID, &applied, &first); err != nil {
			rows.Close()
			return nil, err
		}
		switch steeple.RecipientStatus(status) {
		case steeple.RecipientDelivered:
			if m, ok := byID[providerID]; ok && applied != nil {
				res.receiptLag = append(res.receiptLag, applied.Sub(m.ReceivedAt).Seconds())
			} else if !ok {
				res.lost++ // recorded as delivered, never accepted by the provider
			}
		case steeple.RecipientSkipped:
			if stopped[c.id+"/"+phoneOf(first)] == nil {
				res.lost++
			}
		default:
			res.lost++
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	applied := map[string]time.Time{}
	rows, err = h.QueryContext(ctx, `SELECT m.first_name, e.at FROM consent_events e JOIN members m ON m.id = e.member_id
		WHERE e.status = $1`, steeple.ConsentOptedOut)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var first string
		var at time.Time
		if err := rows.Scan(&first, &at); err != nil {
			return nil, err
		}
		p := phoneOf(first)
		if prev, seen := applied[p]; stopped[c.id+"/"+p] != nil && (!seen || at.Before(prev)) {
			applied[p] = at
		}
	}
	return applied, rows.Err()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ceiling is the in-run limit: n sends through the same provider client to
// the same simulator with the same concurrency, and no bookkeeping at all.
func (s *sundayStack) ceiling(ctx context.Context, n, workers int) (float64, error) {
	client := telnyx.New(telnyx.Config{BaseURL: s.simURL + "/v2", APIKey: "simulated", MaxConns: app.ProviderConns(workers)})
	work := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := client.SendMessage(ctx, telnyx.SendMessageRequest{From: "+13129990000", To: memberPhone(900000 + i%90000),
					Text: "Good morning M1! Service at 10, coffee at 9:30.", WebhookURL: s.sink.URL})
				if err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("ceiling: %w", err)
	}
	return float64(n) / took.Seconds(), nil
}

// rssMB is the process's resident memory in MiB (0 where /proc is absent).
func rssMB() int { return procStatusKB("self", "VmRSS") / 1024 }

// logEventWaits splits the events' lag in two from the queue's own record:
// queued → picked up by a worker, and picked up → applied. It tells a queue
// that cannot keep up from events that are slow to apply. Members' texts
// (STOPs) have a lane of their own: their slowest is given apart.
func logEventWaits(ctx context.Context, r *runner, ten *tenancy.Tenancy) error {
	rows, err := ten.Registry.DB().QueryContext(ctx, `SELECT queue, attempt, created_at, attempted_at, finalized_at FROM river_job
		WHERE kind = 'webhook_event' AND state = 'completed' AND attempted_at IS NOT NULL AND finalized_at IS NOT NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var queued, applying []float64
	var slowest float64
	var slowestAt string
	retried := 0
	for rows.Next() {
		var queue string
		var attempt int
		var created, attempted, finalized time.Time
		if err := rows.Scan(&queue, &attempt, &created, &attempted, &finalized); err != nil {
			return err
		}
		q, a := attempted.Sub(created).Seconds(), finalized.Sub(attempted).Seconds()
		queued, applying = append(queued, q), append(applying, a)
		if queue == jobs.QueueMembers && q+a > slowest {
			slowest, slowestAt = q+a, fmt.Sprintf("queued %.2fs, applying %.3fs", q, a)
		}
		if attempt > 1 {
			retried++ // applied only after the queue's retry pause
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.logf("%d events: queued → picked up p50 %.2fs p99 %.2fs; picked up → applied p50 %.3fs p99 %.3fs; %d on a later attempt",
		len(queued), percentile(queued, 50), percentile(queued, 99), percentile(applying, 50), percentile(applying, 99), retried)
	r.logf("members' texts (their lane): slowest %.2fs (%s)", slowest, slowestAt)
	return nil
}

// sundayBounds are what no implementation could beat in this run, for the
// two figures the machine and the fleet's shape bound:
//
//   - paceBound: texts ÷ the time the largest church's own number needs at
//     its pace. fleet_msgs_per_s spans until the last text, and the
//     largest church's last text cannot leave earlier than that.
//   - smallFloorP95: the 95th percentile small church cannot be done
//     before the smallest 95 % of the small churches' texts have all been
//     sent, at the ceiling rate (sends with no bookkeeping), nor before
//     its own pace allows.
func sundayBounds(fleet []*sundayChurch, sent int, ceiling, rate float64) (paceBound, smallFloorP95 float64) {
	longest := 0.0
	var small []int
	for _, c := range fleet {
		longest = max(longest, float64(c.members-1)/rate)
		if c.members <= 300 {
			small = append(small, c.members)
		}
	}
	if longest > 0 {
		paceBound = float64(sent) / longest
	}
	if len(small) == 0 || ceiling <= 0 {
		return paceBound, 0
	}
	slices.Sort(small)
	k := int(math.Ceil(0.95 * float64(len(small))))
	sum := 0
	for _, n := range small[:k] {
		sum += n
	}
	return paceBound, max(float64(sum)/ceiling, float64(small[k-1]-1)/rate)
}

// fairShareP95 is when the 95th percentile small church (≤ 300 members)
// would be done if rate were shared equally by every church still sending,
// each up to its own number's pace, all starting together: round-robin
// across churches at the run's own speed. Against it,
// small_church_p95_seconds tells fairness apart from speed: near 1, a
// small church was not held back by the large ones, and what stands
// between it and its floor is how fast the fleet sends. Texts are
// counted as members (the STOPs, 1 %, are left in).
func fairShareP95(fleet []*sundayChurch, rate, pace float64) float64 {
	sizes := make([]int, len(fleet))
	for i, c := range fleet {
		sizes[i] = c.members
	}
	slices.Sort(sizes)
	var small []float64
	at, each := 0.0, 0.0 // the time, and the texts each church still sending has sent
	for i, n := range sizes {
		// Churches finish smallest first; until the next does, the
		// len(sizes)-i still sending share rate.
		per := min(pace, rate/float64(len(sizes)-i))
		at += (float64(n) - each) / per
		each = float64(n)
		if n <= 300 {
			small = append(small, at)
		}
	}
	return percentile(small, 95)
}

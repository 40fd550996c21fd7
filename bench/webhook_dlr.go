package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// receiptSet is the churches of one receipts phase: ids[i] holds perChurch
// broadcast recipients in status sent, the k-th with provider id
// providerID(codes[i], phase, k).
type receiptSet struct {
	phase     int
	n         int
	perChurch int
	ids       []string
	codes     []string
	from      string
}

// codePlaceholder is the model church's code: not hexadecimal, so no copy's
// code (8 hex digits) equals it, and nowhere else in a database file.
const codePlaceholder = "zzzzzzzz"

func providerID(code string, phase, k int) string {
	return fmt.Sprintf("%s-%04x-4000-8000-%012x", code, phase, k)
}

// makeReceiptChurches provisions one church the real way, gives it a
// broadcast of perChurch recipients already sent, and makes n-1 more
// churches from its database file (see runWebhook).
func (s *webhookStack) makeReceiptChurches(ctx context.Context, phase, n, perChurch int) (*receiptSet, error) {
	start := time.Now()
	set := &receiptSet{phase: phase, n: n, perChurch: perChurch, from: fmt.Sprintf("+1773555%04d", phase)}
	model, err := s.ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: fmt.Sprintf("Receipts %d model", phase), Timezone: "America/Chicago"})
	if err != nil {
		return nil, err
	}
	if err := s.ten.Registry.AssignNumber(ctx, model.ID, set.from); err != nil {
		return nil, err
	}
	if err := s.sentBroadcast(ctx, model.ID, set.from, phase, perChurch); err != nil {
		return nil, fmt.Errorf("model church: %w", err)
	}
	set.ids = append(set.ids, model.ID)
	set.codes = append(set.codes, codePlaceholder)
	if n == 1 {
		return set, nil
	}
	if s.e.backend != steeple.BackendSQLite {
		return nil, fmt.Errorf("copying churches needs SQLite")
	}
	dir := filepath.Join(s.e.dataDir, "tenants")
	image, err := os.ReadFile(filepath.Join(dir, filepath.Base(model.DatabaseName)))
	if err != nil {
		return nil, err
	}
	var offsets []int
	for off := 0; ; {
		i := bytes.Index(image[off:], []byte(codePlaceholder))
		if i < 0 {
			break
		}
		offsets = append(offsets, off+i)
		off += i + len(codePlaceholder)
	}
	// Each id is in its row and in the provider-id index (more in interior pages).
	if len(offsets) < 2*perChurch {
		return nil, fmt.Errorf("model church file holds %d provider ids, want at least %d", len(offsets), 2*perChurch)
	}
	for i := 1; i < n; i++ {
		s.churches++
		set.ids = append(set.ids, steeple.NewID())
		set.codes = append(set.codes, fmt.Sprintf("%08x", s.churches))
	}
	// Files first, then their registry rows.
	work := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(image))
			for i := range work {
				copy(buf, image)
				for _, off := range offsets {
					copy(buf[off:], set.codes[i])
				}
				if err := os.WriteFile(filepath.Join(dir, set.ids[i]+".db"), buf, 0o600); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
feed:
	for i := 1; i < n; i++ {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("copying the model church: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := registerCopies(ctx, s.ten, model.ID, set.ids[1:], phase); err != nil {
		return nil, fmt.Errorf("registering copies: %w", err)
	}
	if err := s.checkCopy(ctx, set, n-1); err != nil {
		return nil, err
	}
	s.r.logf("receipts phase %d: %d churches (1 provisioned, %d copied, %d KiB each, %d sent recipients each) in %.1fs",
		phase, n, n-1, len(image)>>10, perChurch, time.Since(start).Seconds())
	return set, nil
}

// sentBroadcast adds a broadcast of k recipients to a church through the
// store, each then marked sent with its provider id, as the send worker does.
func (s *webhookStack) sentBroadcast(ctx context.Context, tenantID, from string, phase, k int) error {
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	b := &store.Broadcast{ID: steeple.NewID(), Text: "See you Sunday!", MediaURLs: []string{}, Audience: store.Audience{All: true},
		From: from, Encoding: "GSM-7", SegmentsPerMessage: 1, Recipients: k, Chunks: (k + store.ChunkSize - 1) / store.ChunkSize,
		CreatedBy: steeple.NewID()}
	rs := make([]store.OutgoingRecipient, k)
	for i := range rs {
		rs[i] = store.OutgoingRecipient{Recipient: store.Recipient{MemberID: steeple.NewID(), FirstName: "M", Phone: fmt.Sprintf("+1415%07d", i)},
			Body: "See you Sunday!", Chunk: i / store.ChunkSize}
	}
	if err := s.st.CreateBroadcast(ctx, h, b, rs, k, 0); err != nil {
		return err
	}
	for i, rc := range rs {
		if err := s.st.UpdateRecipient(ctx, h, b.ID, rc.MemberID, store.RecipientUpdate{Status: steeple.RecipientSent,
			ProviderID: providerID(codePlaceholder, phase, i)}); err != nil {
			return err
		}
	}
	// Everything into the main file, so that a copy of it is the whole database.
	_, err = h.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// checkCopy opens copy i through the tenant manager and checks its file and ids.
func (s *webhookStack) checkCopy(ctx context.Context, set *receiptSet, i int) error {
	h, err := s.ten.Manager.Acquire(ctx, set.ids[i])
	if err != nil {
		return fmt.Errorf("copied church: %w", err)
	}
	defer h.Release()
	var ok string
	if err := h.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("copied church %s: integrity_check %q (%v)", set.ids[i], ok, err)
	}
	var mine, sent int
	if err := h.QueryRowContext(ctx, `SELECT count(*) FROM message_recipients WHERE provider_id LIKE $1`, set.codes[i]+"-%").Scan(&mine); err != nil {
		return err
	}
	if err := h.QueryRowContext(ctx, `SELECT count(*) FROM message_recipients WHERE provider_id = $1 AND status = $2`,
		providerID(set.codes[i], set.phase, set.perChurch-1), steeple.RecipientSent).Scan(&sent); err != nil {
		return err
	}
	if mine != set.perChurch || sent != 1 {
		return fmt.Errorf("copied church %s: %d provider ids with its code and %d found by the index, want %d and 1", set.ids[i], mine, sent, set.perChurch)
	}
	return nil
}

// registerCopies adds registry rows for copies of the model church: its
// row (every column, whatever the registry schema holds by now) with
// another id, name, slug and database name.
func registerCopies(ctx context.Context, ten *tenancy.Tenancy, model string, ids []string, phase int) error {
	return copyTenantRow(ctx, ten.Registry.DB(), model, len(ids), []string{"id", "name", "slug", "database_name"},
		func(i int, set func(string, any)) {
			set("id", ids[i])
			set("name", fmt.Sprintf("Receipts %d church %05d", phase, i+1))
			set("slug", fmt.Sprintf("bench-receipts-%d-%05d", phase, i+1))
			set("database_name", ids[i]+".db")
		})
}

type receiptsResult struct {
	elapsed time.Duration
	n       int
	opens   int64
	cpu     []kv
}

func (r receiptsResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// runReceipts queues nReceipts message.finalized events spread evenly over
// the churches idx of the set (in a random order), naming each church's
// recipients from kBase on, with the workers stopped, then starts them and
// times until every receipt has been applied.
func (s *webhookStack) runReceipts(ctx context.Context, set *receiptSet, idx []int, kBase, nReceipts int, cpuProfile string) (*receiptsResult, error) {
	q, err := s.newQueue(ctx)
	if err != nil {
		return nil, err
	}
	order := make([]int, nReceipts)
	for i := range order {
		order[i] = i
	}
	rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	now := time.Now().UTC()
	params := make([]river.InsertManyParams, 0, 1000)
	flush := func() error {
		if len(params) == 0 {
			return nil
		}
		_, err := q.InsertTx(ctx, nil, params)
		params = params[:0]
		return err
	}
	for _, j := range order {
		c, k := idx[j%len(idx)], kBase+j/len(idx)
		payload := telnyx.MessagePayload{
			ID: providerID(set.codes[c], set.phase, k), RecordType: "message", Direction: "outbound", Type: "SMS",
			From: telnyx.Endpoint{PhoneNumber: set.from}, To: []telnyx.Recipient{{PhoneNumber: fmt.Sprintf("+1415%07d", k), Status: "delivered"}},
			Text: "See you Sunday!", Media: []telnyx.Media{}, Parts: 1, Encoding: "GSM-7", Errors: []telnyx.MessageError{},
			WebhookURL: s.url + "/webhooks/telnyx?tenant=" + set.ids[c], CompletedAt: &now, SentAt: &now,
		}
		p, err := json.Marshal(payload)
		if err != nil {
			return nil, err
		}
		params = append(params, river.InsertManyParams{Args: s.wh.JobArgs(telnyx.Event{ID: steeple.NewID(),
			EventType: telnyx.EventMessageFinalized, OccurredAt: now, Payload: p, RecordType: "event"})})
		if len(params) == cap(params) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	spotBefore, err := s.delivered(ctx, set.ids[idx[len(idx)-1]])
	if err != nil {
		return nil, err
	}
	before, err := s.counts()
	if err != nil {
		return nil, err
	}
	applied := outcomeKey{telnyx.EventMessageFinalized, webhooks.OutcomeApplied}
	want := before[applied] + int64(nReceipts)
	s.r.logf("receipts over %d of %d churches: %d queued, starting %d event workers", len(idx), set.n, nReceipts, s.nEvents)
	stopProfile, err := startCPUProfile(cpuProfile, fmt.Sprintf(".dlr-%d", set.n))
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	opens := s.ten.Manager.Stats().Opens
	cpu0 := readCPU()
	start := time.Now()
	stop, err := s.startQueue(ctx, q)
	if err != nil {
		return nil, err
	}
	defer stop()
	deadline := start.Add(5 * time.Minute)
	var last int64
	lastShown := start
	for {
		c, err := s.counts()
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			if k.eventType == telnyx.EventMessageFinalized && k.outcome != webhooks.OutcomeApplied && v != before[k] {
				return nil, fmt.Errorf("%d receipts ended %s, want all applied", v-before[k], k.outcome)
			}
		}
		if c[applied] >= want {
			break
		}
		if c[applied] != last {
			last = c[applied]
			if time.Since(lastShown) > 5*time.Second {
				lastShown = time.Now()
				s.r.logf("  %d/%d applied", c[applied]-before[applied], nReceipts)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d receipts applied within 5 minutes", c[applied]-before[applied], nReceipts)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	res := &receiptsResult{elapsed: time.Since(start), n: nReceipts, opens: s.ten.Manager.Stats().Opens - opens}
	res.cpu = cpuSince(cpu0, readCPU())
	stopProfile()
	stop()
	// Spot check in the databases: the last church's rows are delivered now.
	after, err := s.delivered(ctx, set.ids[idx[len(idx)-1]])
	if err != nil {
		return nil, err
	}
	if got, wantHere := after-spotBefore, nReceipts/len(idx); got != wantHere { // the last church gets the fewest
		return nil, fmt.Errorf("church %s got %d delivered recipients, want %d", set.ids[idx[len(idx)-1]], got, wantHere)
	}
	return res, nil
}

// delivered counts a church's delivered broadcast recipients.
func (s *webhookStack) delivered(ctx context.Context, tenantID string) (int, error) {
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	defer h.Release()
	var n int
	err = h.QueryRowContext(ctx, `SELECT count(*) FROM message_recipients WHERE status = $1`, steeple.RecipientDelivered).Scan(&n)
	return n, err
}

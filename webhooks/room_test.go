package webhooks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
	"github.com/steeple-sms/steeple/webhooks"
)

// A STOP to a church that is sending nothing, while two churches' send
// jobs and a third church's request hold the whole budget, is applied at
// once (before its answer, unless the machine is slow): one send job gives
// its connection up between two texts (tenancy.Handle.Lend), then takes
// another and finishes its broadcast. Without that the STOP waited for a
// send job's turn to end (here the broadcast's end, 10 s).
func TestStopTakesASendJobsConnectionInAFullBudget(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{
			Tenancy: func(o *tenancy.Options) {
				o.Now = time.Now
				// Three connections: two for send jobs (three quarters),
				// one for the rest.
				o.Manager.MaxConns, o.Manager.MaxPools, o.Manager.MaxPerTenant = 3, 3, 1
			},
			Tune: func(tu *app.Tuning) {
				tu.Queue.EventWorkers = 0
				tu.Messaging.SendSlice = 30 * time.Second // no turn ends meanwhile
			},
		})
		var senders []*testkit.Church
		var recipients [][]string
		for i, name := range []string{"Grace Chapel", "Hope Fellowship"} {
			c := s.Church(t, testkit.ChurchOptions{Name: name, Number: fmt.Sprintf("+1312555010%d", i), QuietHoursOff: true})
			// 10 a second: 100 ms between texts, short enough that the job
			// keeps its connection throughout (messaging's longPause); one
			// chunk (store.ChunkSize), so one turn.
			s.SetSendRate(t, c.ID, "10")
			var ms []string
			for j := 1; j <= 99; j++ {
				ms = append(ms, s.AddMember(t, c.ID, testkit.MemberOptions{FirstName: fmt.Sprint("Member ", j), Phone: testkit.Phone(100*i + j), OptedIn: true}))
			}
			senders, recipients = append(senders, c), append(recipients, ms)
		}
		quiet := s.Church(t, testkit.ChurchOptions{Name: "St. Mark's", Number: "+13125550200", QuietHoursOff: true})
		dee := s.AddMember(t, quiet.ID, testkit.MemberOptions{FirstName: "Dee", Phone: testkit.Phone(900), OptedIn: true})
		busy := s.Church(t, testkit.ChurchOptions{Name: "First Baptist", Number: "+13125550300"})

		var bids []string
		for _, c := range senders {
			bids = append(bids, c.API(s).BroadcastAll(t, "Service at 10 tomorrow"))
		}
		// Both send jobs under way, each on its connection. (Read from the
		// simulator: a page of theirs would wait for that connection.)
		testkit.Eventually(t, 15*time.Second, func() string {
			for _, c := range senders {
				if s.Sim.CountFrom(c.Number) == 0 {
					return c.Name + " has sent nothing yet"
				}
			}
			return ""
		})
		_, release := s.HoldConnections(t, busy.ID) // the budget's last connection
		defer release()
		if st := s.Tenancy.Manager.Stats(); st.Conns != 3 || st.InUse != 3 {
			t.Fatalf("%d connections counted, %d in use; want the budget's 3, all in use", st.Conns, st.InUse)
		}

		inbound(t, s, testkit.Phone(900), quiet.Number, "STOP")
		testkit.Eventually(t, 3*time.Second, func() string {
			if got := metric(t, s, telnyx.EventMessageReceived, webhooks.OutcomeApplied); got != 1 {
				return fmt.Sprintf("%v texts applied; want the STOP, while the broadcasts go on", got)
			}
			return ""
		})
		if got := counter(t, s, "steeple_tenant_conns_given_way_total"); got != 1 {
			t.Fatalf("%v send jobs' connections given up; want 1 for the one STOP", got)
		}
		release()
		// The send job that gave way took another connection and went on:
		// every member has their one text.
		testkit.Eventually(t, 30*time.Second, func() string {
			for i, c := range senders {
				if n := s.Sim.CountFrom(c.Number); n != len(recipients[i]) {
					return fmt.Sprintf("%s sent %d texts; want %d, one to each member", c.Name, n, len(recipients[i]))
				}
			}
			return ""
		})
		for i, c := range senders {
			v := c.API(s).GetBroadcast(t, bids[i])
			if left := v.Message.Counts[steeple.RecipientQueued] + v.Message.Counts[steeple.RecipientSending] + v.Message.Counts[steeple.RecipientFailed]; left != 0 {
				t.Fatalf("%s's broadcast counts %v; want every recipient sent", c.Name, v.Message.Counts)
			}
		}
		wantConsent(t, s, quiet, dee, steeple.ConsentOptedOut, steeple.ConsentSourceKeyword)
	})
}

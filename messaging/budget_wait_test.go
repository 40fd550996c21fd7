package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
)

// A send job that finds no connection for its church within its turn's
// wait goes back to the queue rather than failing: as a failure it was
// retried after 1, 16, 81 and 256 s, and one church's broadcast stalled
// four minutes on a busy PostgreSQL. Here every connection of the church
// is held for longer than the acquire timeout (5 s): the chunk records no
// error, and its texts go out within moments of the release.
func TestSendJobWaitsInQueueForAConnection(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{Tenancy: wallClock,
			Messaging: func(c *messaging.Config) { c.TurnWait = time.Second }})
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100"})
		importMembers(t, s, c, membersCSV("Ann", 0, 3))
		ctx := context.Background()
		held, release := s.HoldConnections(t, c.ID)
		defer release()
		bc, err := s.Messaging.Create(ctx, held[0], &steeple.Admin{ID: steeple.NewID()},
			messaging.BroadcastRequest{Text: "Service at 10", Audience: store.Audience{All: true}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(7 * time.Second)
		if sent := s.SentFrom(c.Number); len(sent) != 0 {
			t.Fatalf("%d texts went out while every connection of the church was held", len(sent))
		}
		if n := s.RegistryCount(t, `SELECT COUNT(*) FROM river_job WHERE kind = $1 AND errors IS NOT NULL`, messaging.SendChunkArgs{}.Kind()); n != 0 {
			t.Fatalf("%d send jobs recorded an error while their church had no connection free; want them waiting in the queue", n)
		}
		released := time.Now()
		release()
		wantAllSent(t, waitDone(t, s, c, bc.ID, 30*time.Second), 3)
		if took := time.Since(released); took > 4*time.Second {
			t.Fatalf("the texts went out %v after the connections came free; want within a turn's wait or two", took)
		}
	})
}

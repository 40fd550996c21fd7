package store_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
)

// jsonlIDs reads one column of a table file of an archive.
func jsonlIDs(t *testing.T, zr *zip.Reader, table, col string) map[string]int {
	t.Helper()
	f, err := zr.Open("tables/" + table + ".jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	out := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var row map[string]any
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[fmt.Sprint(row[col])]++
	}
	return out
}

// An export is one moment of the church: members join (each with its
// consent event, in one transaction) while it runs, and every archive's
// consent events name exactly its members — the members file, read first,
// is not older than the consent file read after it.
func TestExportIsOneMoment(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		rows := make([]store.ImportRow, 3000)
		for i := range rows {
			rows[i] = store.ImportRow{Line: i + 2, Member: store.MemberInput{FirstName: "Ann", Phone: fmt.Sprintf("+1415200%04d", i)}}
		}
		if _, err := c.st.ImportMembers(ctx, c.h, rows, steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceImport}); err != nil {
			t.Fatal(err)
		}
		wh, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer wh.Release()
		var written atomic.Int64
		stop, started := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		var once sync.Once
		stopWriter := func() { once.Do(func() { close(stop); wg.Wait() }) }
		defer stopWriter() // before the writer's handle is released
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Store.CreateMember(ctx, wh, store.MemberInput{FirstName: "Bo", Phone: fmt.Sprintf("+1415300%04d", i)},
					steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin}); err != nil {
					t.Error(err)
					return
				}
				if written.Add(1) == 1 {
					close(started)
				}
			}
		}()
		<-started // the writer is under way before the first export
		before := written.Load()
		for range 5 {
			var buf bytes.Buffer
			m, err := c.st.ExportArchive(ctx, c.h, &buf)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			members, consented := jsonlIDs(t, zr, "members", "id"), jsonlIDs(t, zr, "consent_events", "member_id")
			if int64(len(members)) != m.Tables["members"] || len(consented) != len(members) {
				t.Fatalf("%d members (manifest %d), consent events for %d members", len(members), m.Tables["members"], len(consented))
			}
			for id := range consented {
				if members[id] == 0 {
					t.Fatalf("a consent event names member %s, who is not in the archive's members", id)
				}
			}
		}
		stopWriter()
		if written.Load() == before {
			t.Fatal("no member joined while the church was exported: the test proved nothing")
		}
	})
}

package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/auth"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
)

// After the blind-index key is rotated, and before the recompute pass,
// every way in by phone or email still finds the rows indexed with the old
// key and adds no second one: the owner logs in, a member's text lands in
// their conversation, a member is found by phone, a keyword from a member
// joins that member, an unknown contact's text reopens their conversation,
// an import row updates its member, and the owner's email is still taken.
// The pass (stopped after one batch, then run again) moves every index to
// the new key, the registry's login entries too; then the old key is
// retired and all of it still works.
func TestBlindIndexRotation(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		ann, err := c.st.CreateMember(ctx, c.h, store.MemberInput{FirstName: "Ann", Phone: "+13126100001", Email: "ann@example.org"},
			steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "at the door"})
		if err != nil {
			t.Fatal(err)
		}
		bo := c.member(t, "Bo", "+13126100002", steeple.ConsentOptedIn)
		annConv := c.text(t, ann.Phone, "Hello").ConversationID
		strangerConv := c.text(t, "+13126100003", "Who is this?").ConversationID
		boConv := c.text(t, bo.Phone, "Hi").ConversationID
		counts := func() [3]int {
			return [3]int{c.count(t, `SELECT COUNT(*) FROM members`), c.count(t, `SELECT COUNT(*) FROM conversations`),
				c.count(t, `SELECT COUNT(*) FROM admins`)}
		}
		before := counts()

		rotated, err := secret.RotateBlindIndex(s.KeysFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Keys.Swap(rotated); err != nil {
			t.Fatal(err)
		}
		stale, err := c.st.StaleIndexes(ctx, c.h)
		if err != nil || stale < 6 { // 2 member phones, 1 member email, 2 conversations, the owner's email
			t.Fatalf("stale before the pass: %d %v", stale, err)
		}

		c.Relogin(t, s)
		if r := c.text(t, ann.Phone, "Still me"); r.ConversationID != annConv || r.MemberID != ann.ID {
			t.Fatalf("a member's text after rotation: %+v, want conversation %s of %s", r, annConv, ann.ID)
		}
		if m, err := c.st.MemberByPhone(ctx, c.h, bo.Phone); err != nil || m.ID != bo.ID {
			t.Fatalf("MemberByPhone: %+v %v", m, err)
		}
		if ms, _, err := c.st.Members(ctx, c.h, store.MemberQuery{MemberFilter: store.MemberFilter{Phone: ann.Phone}, Limit: 10}); err != nil || len(ms) != 1 || ms[0].ID != ann.ID {
			t.Fatalf("member search by phone: %v %v", ms, err)
		}
		joined := c.text(t, bo.Phone, "JOIN", func(in *store.InboundText) {
			in.Join = &store.Join{KeywordID: steeple.NewID(), Wording: "JOIN"}
		})
		if joined.Joined == nil || joined.Joined.NewMember || joined.Joined.MemberID != bo.ID || joined.ConversationID != boConv {
			t.Fatalf("keyword join by a member: %+v", joined.Joined)
		}
		if r := c.text(t, "+13126100003", "Again"); r.ConversationID != strangerConv {
			t.Fatalf("an unknown contact's text: conversation %s, want %s", r.ConversationID, strangerConv)
		}
		res, err := c.st.ImportMembers(ctx, c.h, []store.ImportRow{{Line: 2, Member: store.MemberInput{FirstName: "Ann", LastName: "Lee", Phone: ann.Phone}}},
			steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceImport, Wording: "form"})
		if err != nil || len(res) != 1 || res[0].Outcome != store.ImportUpdated || res[0].MemberID != ann.ID {
			t.Fatalf("import of a member's row: %+v %v", res, err)
		}
		if _, err := c.st.CreateAdmin(ctx, c.h, store.NewAdmin{Name: "Twin", Email: c.Email, PasswordHash: "x", Role: steeple.RoleAdmin}); steeple.ErrorCode(err) != steeple.ECONFLICT {
			t.Fatalf("a second admin with the owner's email: %v, want ECONFLICT", err)
		}
		if got := counts(); got != before {
			t.Fatalf("members, conversations, admins: %v after rotation, %v before: a lookup missed a row", got, before)
		}
		// A new member on the unknown contact's phone: the conversation
		// (indexed with the old key) now shows them.
		cleo := c.member(t, "Cleo", "+13126100003", steeple.ConsentOptedIn)
		if cv := c.conv(t, strangerConv); cv.Member == nil || cv.Member.ID != cleo.ID {
			t.Fatalf("conversation of a new member's phone shows member %+v, want %s", cv.Member, cleo.ID)
		}

		// A pass stopped after its first batch leaves work that a second
		// pass finishes; a third has nothing to do.
		stop := errors.New("stopped")
		first, err := c.st.Reindex(ctx, c.h, store.ReindexOptions{Batch: 1, Progress: func(int) error { return stop }})
		if !errors.Is(err, stop) {
			t.Fatalf("stopped pass: %d %v", first, err)
		}
		mid, err := c.st.StaleIndexes(ctx, c.h)
		if err != nil || mid == 0 {
			t.Fatalf("after one batch: %d stale (%v); want some left", mid, err)
		}
		n, err := c.st.Reindex(ctx, c.h, store.ReindexOptions{Batch: 2})
		if err != nil || n == 0 {
			t.Fatalf("resumed pass: %d %v", n, err)
		}
		if left, err := c.st.StaleIndexes(ctx, c.h); err != nil || left != 0 {
			t.Fatalf("after the pass: %d stale (%v)", left, err)
		}
		if again, err := c.st.Reindex(ctx, c.h, store.ReindexOptions{}); err != nil || again != 0 {
			t.Fatalf("a pass after the pass rewrote %d (%v)", again, err)
		}
		if n, err := auth.ReindexLogins(ctx, s.Tenancy.Registry, c.st, c.h, false); err != nil || n != 1 {
			t.Fatalf("login entries under the old key: %d %v, want the owner's", n, err)
		}
		if n, err := auth.ReindexLogins(ctx, s.Tenancy.Registry, c.st, c.h, true); err != nil || n != 1 {
			t.Fatalf("login entries moved: %d %v", n, err)
		}
		if n, err := auth.ReindexLogins(ctx, s.Tenancy.Registry, c.st, c.h, false); err != nil || n != 0 {
			t.Fatalf("login entries under the old key after the pass: %d %v", n, err)
		}

		retired, err := secret.RetireBlindIndex(rotated)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Keys.Swap(retired); err != nil {
			t.Fatal(err)
		}
		c.Relogin(t, s)
		if r := c.text(t, ann.Phone, "After"); r.ConversationID != annConv || r.MemberID != ann.ID {
			t.Fatalf("a member's text after retiring: %+v", r)
		}
		if m, err := c.st.MemberByPhone(ctx, c.h, bo.Phone); err != nil || m.ID != bo.ID {
			t.Fatalf("MemberByPhone after retiring: %+v %v", m, err)
		}
		if _, err := c.st.AdminByEmail(ctx, c.h, c.Email); err != nil {
			t.Fatalf("AdminByEmail after retiring: %v", err)
		}
		if got := counts(); got != [3]int{before[0] + 1, before[1], before[2]} {
			t.Fatalf("counts at the end: %v (before %v, plus Cleo)", got, before)
		}
	})
}

// Every *_hash column of the church schema is a blind index the recompute
// pass lists, or a hash of a random secret (not keyed, never recomputed):
// a new blind index cannot be forgotten by a rotation.
func TestEveryBlindIndexIsRecomputed(t *testing.T) {
	// Hashes of random secrets (tokens, codes, session ids) and passwords.
	secretHashes := map[string]bool{"token_hash": true, "code_hash": true, "id_hash": true, "password_hash": true}
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		listed := " " + strings.Join(store.IndexColumnNames(), " ") + " "
		found := 0
		for _, col := range schemaColumns(t, c, b, "%hash") {
			switch {
			case strings.Contains(listed, " "+col+" "):
				found++
			case !secretHashes[col[strings.Index(col, ".")+1:]]:
				t.Errorf("%s looks like a blind index but the recompute pass does not list it (store/blindindex.go indexColumns)", col)
			}
		}
		if want := len(store.IndexColumnNames()); found != want {
			t.Errorf("the schema has %d of the %d blind-index columns listed", found, want)
		}
	})
}

// schemaColumns are the church schema's columns named like like, as
// "table.column".
func schemaColumns(t *testing.T, c *church, b *testkit.Backend, like string) []string {
	t.Helper()
	q := `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND p.name LIKE $1`
	if b.Postgres() {
		q = `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = 'public' AND column_name LIKE $1`
	}
	rows, err := c.h.QueryContext(context.Background(), q, like)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols
}

package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
)

// After a rotation of the data key, Reseal moves every sealed value of a
// church to the new key (counted by SealedCounts), stops having anything
// to do, and the old key can then go: members, conversations and admins
// still read back, on both backends.
func TestResealAfterRotation(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		ctx := context.Background()
		m := c.member(t, "Ann", "+13126000001", steeple.ConsentOptedIn)
		c.member(t, "Bo", "+13126000002", steeple.ConsentOptedIn)
		conv := c.text(t, "+13126000003", "Hello?")
		before, err := c.st.SealedCounts(ctx, c.h)
		if err != nil {
			t.Fatal(err)
		}
		total := before[1]
		if len(before) != 1 || total < 4 { // 2 members, 1 conversation, the admin's email
			t.Fatalf("before rotation: %v, want every value under key 1", before)
		}

		rotated, id, err := secret.RotateEncryption(s.KeysFile)
		if err != nil || id != 2 {
			t.Fatalf("rotate: %d %v", id, err)
		}
		keys2, err := secret.New(rotated)
		if err != nil {
			t.Fatal(err)
		}
		st2 := store.New(keys2, nil)
		var seen []int
		n, err := st2.Reseal(ctx, c.h, func(done int) { seen = append(seen, done) })
		if err != nil || n != total || len(seen) == 0 {
			t.Fatalf("Reseal = %d, %v (progress %v); want %d", n, err, seen, total)
		}
		after, err := st2.SealedCounts(ctx, c.h)
		if err != nil || len(after) != 1 || after[2] != total {
			t.Fatalf("after: %v %v, want %d under key 2", after, err, total)
		}
		if again, err := st2.Reseal(ctx, c.h, nil); err != nil || again != 0 {
			t.Fatalf("a second pass rewrote %d (%v)", again, err)
		}

		retired, err := secret.RetireEncryption(rotated, 1)
		if err != nil {
			t.Fatal(err)
		}
		keys3, _ := secret.New(retired)
		st3 := store.New(keys3, nil)
		got, err := st3.Member(ctx, c.h, m.ID)
		if err != nil || got.Phone != "+13126000001" {
			t.Fatalf("member after retiring key 1: %+v %v", got, err)
		}
		cv, err := st3.Conversation(ctx, c.h, conv.ConversationID)
		if err != nil || cv.Phone != "+13126000003" {
			t.Fatalf("conversation after retiring key 1: %+v %v", cv, err)
		}
		if _, err := st3.AdminByEmail(ctx, c.h, c.Email); err != nil {
			t.Fatalf("admin by email after retiring key 1: %v", err)
		}
	})
}

// Every *_cipher column of the church schema is one Reseal rewrites, so a
// new sealed column cannot be forgotten by key rotation.
func TestEverySealedColumnIsResealed(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true})
		c := openChurch(t, s)
		cols := schemaColumns(t, c, b, "%cipher")
		listed := store.SealedColumnNames()
		for _, col := range cols {
			if !strings.Contains(" "+strings.Join(listed, " ")+" ", " "+col+" ") {
				t.Errorf("%s is sealed but not resealed by key rotation (store/sealed.go)", col)
			}
		}
		if len(cols) != len(listed) {
			t.Errorf("schema has %d sealed columns %v, store lists %d %v", len(cols), cols, len(listed), listed)
		}
	})
}

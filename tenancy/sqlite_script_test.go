package tenancy

import "testing"

func TestIsScript(t *testing.T) {
	for _, c := range []struct {
		query string
		want  bool
	}{
		{`SELECT 1`, false},
		{`SELECT 1;`, false},
		{"SELECT 1; \n -- done\n", false},
		{`SELECT 1; /* done; really */`, false},
		{`UPDATE t SET a = 1; UPDATE t SET b = 2`, true},
		{"CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);", true},
		{"-- Materialize the list once; reevaluating it is costly\nSELECT 1", false},
		{"SELECT 1 /* one; two */ + 2", false},
		{`SELECT 'a;b', "c;d", ` + "`e;f`" + `, [g;h] FROM t`, false},
		{`SELECT 'it''s; fine' FROM t`, false},
		{`SELECT 'it''s'; SELECT 2`, true},
		{"SELECT 1 -- no end of line;", false},
		{"SELECT '; unterminated", false},
	} {
		if got := isScript(c.query); got != c.want {
			t.Errorf("isScript(%q) = %v, want %v", c.query, got, c.want)
		}
	}
}

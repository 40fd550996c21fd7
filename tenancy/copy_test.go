package tenancy

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Values come out of SQLite as int64, float64, string, []byte, time.Time or
// nil; each is turned into what its PostgreSQL column takes, and a value
// that cannot be is an error naming the type, not a silent change.
func TestConvertValue(t *testing.T) {
	at := time.Date(2026, 12, 5, 6, 7, 8, 123456789, time.FixedZone("", -6*3600))
	cases := []struct {
		in       any
		dataType string
		want     any
	}{
		{int64(1), "boolean", true},
		{int64(0), "boolean", false},
		{"true", "boolean", true},
		{at, "timestamp with time zone", at},
		{"2026-12-05 06:07:08.123456789-06:00", "timestamp with time zone", at},
		{"2026-12-05 12:07:08", "timestamp without time zone", time.Date(2026, 12, 5, 12, 7, 8, 0, time.UTC)},
		{"2026-12-05T12:07:08Z", "timestamp with time zone", time.Date(2026, 12, 5, 12, 7, 8, 0, time.UTC)},
		{"sealed", "bytea", []byte("sealed")},
		{[]byte{0, 1, 2}, "bytea", []byte{0, 1, 2}},
		{`{"a":1}`, "jsonb", json.RawMessage(`{"a":1}`)},
		{"42", "bigint", int64(42)},
		{float64(3), "integer", int64(3)},
		{int64(7), "text", "7"},
		{[]byte("hi"), "text", "hi"},
		{`["a","b"]`, "ARRAY", []any{"a", "b"}},
		{nil, "boolean", nil},
		{int64(5), "numeric", int64(5)},
	}
	for _, c := range cases {
		got, err := convertValue(c.in, c.dataType)
		if err != nil {
			t.Errorf("%T %v into %s: %v", c.in, c.in, c.dataType, err)
			continue
		}
		if g, ok := got.(time.Time); ok {
			if !g.Equal(c.want.(time.Time)) {
				t.Errorf("%v into %s: got %v, want %v", c.in, c.dataType, g, c.want)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T %v into %s: got %T %v, want %T %v", c.in, c.in, c.dataType, got, got, c.want, c.want)
		}
	}
	for _, bad := range []struct {
		in       any
		dataType string
	}{{"yesterday", "timestamp with time zone"}, {float64(1.5), "bigint"}, {"maybe", "boolean"}, {"[1,", "ARRAY"}, {at, "bytea"}} {
		if got, err := convertValue(bad.in, bad.dataType); err == nil {
			t.Errorf("%T %v into %s: got %v, want an error", bad.in, bad.in, bad.dataType, got)
		}
	}
}

func TestDependencyOrder(t *testing.T) {
	got, err := dependencyOrder([]string{"recipients", "messages", "members", "groups"},
		map[string][]string{"recipients": {"messages", "members"}, "messages": {"members"}})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, n := range got {
		pos[n] = i
	}
	if len(got) != 4 || pos["members"] > pos["messages"] || pos["messages"] > pos["recipients"] {
		t.Fatalf("order %v", got)
	}
	if _, err := dependencyOrder([]string{"a", "b"}, map[string][]string{"a": {"b"}, "b": {"a"}}); err == nil {
		t.Fatal("a cycle was not refused")
	}
}

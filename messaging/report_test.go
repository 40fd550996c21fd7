package messaging

import (
	"testing"
	"time"
)

func TestWeekBoundsFollowLocalSundays(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	// Wednesday 2026-11-11 03:00 UTC is Tuesday evening in Chicago; DST
	// ended on Sunday 2026-11-01.
	b := WeekBounds(time.Date(2026, 11, 11, 3, 0, 0, 0, time.UTC), chicago, 3)
	want := []string{"2026-10-25T00:00:00-05:00", "2026-11-01T00:00:00-05:00", "2026-11-08T00:00:00-06:00", "2026-11-15T00:00:00-06:00"}
	if len(b) != len(want) {
		t.Fatalf("%d bounds", len(b))
	}
	for i, w := range want {
		if got := b[i].Format(time.RFC3339); got != w {
			t.Errorf("bound %d = %s; want %s", i, got, w)
		}
	}
	if h := b[2].Sub(b[1]).Hours(); h != 169 {
		t.Errorf("the week with the DST change lasts %v h; want 169", h)
	}
}

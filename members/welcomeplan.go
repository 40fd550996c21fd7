package members

import (
	"fmt"
	"time"
)

// WelcomePlan says how the welcome texts of an import go out: at most half
// of the church's remaining daily cap each UTC day, spread over the rest of
// that day.
type WelcomePlan struct {
	Total int `json:"total"`
	// DailyCap is the church's cap (0: none, all go now).
	DailyCap int            `json:"daily_cap"`
	Batches  []WelcomeBatch `json:"batches"`
	// Summary says it in a sentence, times in the church's timezone.
	Summary string `json:"summary"`
}

// WelcomeBatch is one day's share: Count texts spread from From to Until
// (RFC 3339, in the church's timezone).
type WelcomeBatch struct {
	Count int    `json:"count"`
	From  string `json:"from"`
	Until string `json:"until"`
	// Slots are the times the texts are queued at, each with how many.
	Slots []WelcomeSlot `json:"-"`
}

// WelcomeSlot is a time and how many welcome texts go then.
type WelcomeSlot struct {
	At    time.Time
	Count int
}

// slotsPerDay bounds the jobs one day's welcome texts take.
const slotsPerDay = 24

// PlanWelcomes paces n welcome texts from now for a church with a daily cap
// (texts per UTC day, 0: none) that has sent sentToday texts today: each
// day takes at most half of what remains of its cap and spreads it evenly
// over what remains of the day.
func PlanWelcomes(n int, now time.Time, dailyCap, sentToday int, loc *time.Location) *WelcomePlan {
	p := &WelcomePlan{Total: n, DailyCap: dailyCap, Batches: []WelcomeBatch{}}
	if n == 0 {
		p.Summary = "No welcome texts to send."
		return p
	}
	if dailyCap <= 0 {
		p.Batches = append(p.Batches, WelcomeBatch{Count: n, From: now.In(loc).Format(time.RFC3339), Until: now.In(loc).Format(time.RFC3339),
			Slots: []WelcomeSlot{{At: now, Count: n}}})
		p.Summary = fmt.Sprintf("%d welcome texts go now.", n)
		return p
	}
	left := n
	start := now
	remaining := max(dailyCap-sentToday, 0)
	for left > 0 {
		end := start.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
		share := min(remaining/2, left)
		if share > 0 {
			b := WelcomeBatch{Count: share, From: start.In(loc).Format(time.RFC3339)}
			slots := min(share, slotsPerDay)
			step := end.Sub(start) / time.Duration(slots)
			for i := range slots {
				c := share / slots
				if i < share%slots {
					c++
				}
				b.Slots = append(b.Slots, WelcomeSlot{At: start.Add(step * time.Duration(i)), Count: c})
			}
			b.Until = b.Slots[len(b.Slots)-1].At.In(loc).Format(time.RFC3339)
			p.Batches = append(p.Batches, b)
			left -= share
		}
		start, remaining = end, dailyCap
		if dailyCap/2 == 0 {
			break // a cap of 1 leaves no half to use
		}
	}
	first, last := p.Batches, p.Batches
	if len(first) == 0 {
		p.Summary = fmt.Sprintf("%d welcome texts cannot be paced: the daily cap is %d.", n, dailyCap)
		return p
	}
	from, _ := time.Parse(time.RFC3339, first[0].From)
	until, _ := time.Parse(time.RFC3339, last[len(last)-1].Until)
	sent := 0
	for _, b := range p.Batches {
		sent += b.Count
	}
	today := 0
	if first[0].Slots[0].At.Equal(now) {
		today = first[0].Count
	}
	p.Summary = fmt.Sprintf("%d welcome texts go between %s and %s (%s), %d of them today (UTC day), using at most half of what is left each day of the daily cap of %d texts.",
		sent, from.In(loc).Format("Mon Jan 2 15:04"), until.In(loc).Format("Mon Jan 2 15:04"), loc.String(), today, dailyCap)
	if sent < n {
		p.Summary += fmt.Sprintf(" %d cannot be paced under this cap and are not sent.", n-sent)
	}
	return p
}

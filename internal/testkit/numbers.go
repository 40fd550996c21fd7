package testkit

import (
	"fmt"
	"github.com/steeple-sms/steeple"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// NumberView is a number as GET /api/v1/numbers shows it.
type NumberView struct {
	Number        string              `json:"number"`
	State         steeple.NumberState `json:"state"`
	ReleaseAt     *time.Time          `json:"release_at"`
	CampaignState string              `json:"campaign_state"`
	CreatedAt     time.Time           `json:"created_at"`
}

// OrderView is a number order as the API shows it.
type OrderView struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Step   string `json:"step"`
	Error  string `json:"error"`
}

// NumberList is GET /api/v1/numbers.
type NumberList struct {
	Numbers []NumberView `json:"numbers"`
	Orders  []OrderView  `json:"orders"`
}

// Number is the listed number e164, or nil.
func (l *NumberList) Number(e164 string) *NumberView {
	for i := range l.Numbers {
		if l.Numbers[i].Number == e164 {
			return &l.Numbers[i]
		}
	}
	return nil
}

// Order is the newest listed order for e164, or nil.
func (l *NumberList) Order(e164 string) *OrderView {
	for i := len(l.Orders) - 1; i >= 0; i-- {
		if l.Orders[i].Number == e164 {
			return &l.Orders[i]
		}
	}
	return nil
}

// Numbers is GET /api/v1/numbers.
func (c *Client) Numbers(t testing.TB) *NumberList {
	t.Helper()
	var l NumberList
	c.Call(t, "GET", "/api/v1/numbers", nil, http.StatusOK, &l)
	return &l
}

// Available is GET /api/v1/numbers/available?query: the numbers offered.
func (c *Client) Available(t testing.TB, query string) []string {
	t.Helper()
	var body struct {
		Numbers []struct {
			Number string `json:"number"`
		} `json:"numbers"`
	}
	c.Call(t, "GET", "/api/v1/numbers/available?"+query, nil, http.StatusOK, &body)
	var out []string
	for _, n := range body.Numbers {
		out = append(out, n.Number)
	}
	return out
}

// OrderNumber is POST /api/v1/numbers; it fails the test unless the answer is 202.
func (c *Client) OrderNumber(t testing.TB, e164 string) OrderView {
	t.Helper()
	var body struct {
		Order OrderView `json:"order"`
	}
	c.Call(t, "POST", "/api/v1/numbers", map[string]any{"number": e164}, http.StatusAccepted, &body)
	return body.Order
}

// WaitNumberActive waits until the list shows e164 active and no order for
// it under way (failed ones stay listed for a week).
func (c *Client) WaitNumberActive(t testing.TB, e164 string) *NumberList {
	t.Helper()
	var l *NumberList
	Eventually(t, 15*time.Second, func() string {
		l = c.Numbers(t)
		if n := l.Number(e164); n == nil || n.State != steeple.NumberActive {
			return fmt.Sprintf("%s is not an active number: %+v", e164, l)
		}
		for _, o := range l.Orders {
			if o.Number == e164 && o.Step != tenancy.OrderFailed {
				return fmt.Sprintf("order for %s still listed: %+v", e164, o)
			}
		}
		return ""
	})
	return l
}

// BuyNumber orders, through the API (so the provider account has it), a
// number offered in area code and waits until it is the church's.
func (c *Client) BuyNumber(t testing.TB, area string) string {
	t.Helper()
	found := c.Available(t, "area_code="+area)
	if len(found) == 0 {
		t.Fatalf("no number available in %s", area)
	}
	c.OrderNumber(t, found[0])
	c.WaitNumberActive(t, found[0])
	return found[0]
}

package telnyxsim_test

import (
	"context"
	"strings"
	"testing"
)

// GET /10dlc/brand lists brands as Telnyx does: filtered (displayName
// here), newest first, paged, each a summary without referenceId; the
// referenceId given at creation is on the brand itself. The client's
// FindBrand finds a brand by display name and reference.
func TestListBrandsWire(t *testing.T) {
	e := newEnv(t)
	for _, ref := range []string{"ref-1", "ref-2"} {
		body := strings.Replace(brandJSON, `"webhookURL":%q`, `"referenceId":"`+ref+`"`, 1)
		if status, b := rawCall(t, "POST", e.base+"/v2/10dlc/brand", body); status != 200 || b["referenceId"] != ref {
			t.Fatalf("create: %d %v", status, b)
		}
	}
	other := strings.Replace(brandJSON, `"Grace Chapel"`, `"Hope Fellowship"`, 1)
	if status, _ := rawCall(t, "POST", e.base+"/v2/10dlc/brand", strings.Replace(other, `,"webhookURL":%q`, "", 1)); status != 200 {
		t.Fatalf("create other: %d", status)
	}
	status, l := rawCall(t, "GET", e.base+"/v2/10dlc/brand?displayName=Grace+Chapel&recordsPerPage=1&page=1", "")
	records, _ := l["records"].([]any)
	if status != 200 || l["totalRecords"] != float64(2) || l["page"] != float64(1) || len(records) != 1 {
		t.Fatalf("list: %d %v", status, l)
	}
	first := records[0].(map[string]any)
	if _, has := first["referenceId"]; has || first["displayName"] != "Grace Chapel" || first["status"] == nil {
		t.Fatalf("a listed brand: %v; want a summary without referenceId", first)
	}
	if status, l = rawCall(t, "GET", e.base+"/v2/10dlc/brand?recordsPerPage=501", ""); status != 422 {
		t.Fatalf("recordsPerPage 501: %d %v", status, l)
	}
	c := e.client
	b, err := c.FindBrand(context.Background(), "Grace Chapel", "ref-1")
	if err != nil || b == nil || b.ReferenceID != "ref-1" {
		t.Fatalf("FindBrand: %+v, %v", b, err)
	}
	if b, err := c.FindBrand(context.Background(), "Hope Fellowship", "ref-1"); err != nil || b != nil {
		t.Fatalf("FindBrand of another name: %+v, %v; want none", b, err)
	}
}

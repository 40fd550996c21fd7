package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
)

// idRoutes lists every page and form route of the web app that names an
// object, with the kind of object its {id} is. TestEveryRouteRefusesOtherChurchIDs
// reads the routes from the source, so a new route fails it until listed here.
var idRoutes = map[string]string{
	"GET /inbox/{id}": "conversation", "GET /inbox/{id}/live": "conversation", "POST /inbox/{id}/assign": "conversation",
	"POST /inbox/{id}/close": "conversation", "POST /inbox/{id}/dismiss": "conversation", "POST /inbox/{id}/member": "conversation",
	"POST /inbox/{id}/opt-out": "conversation", "POST /inbox/{id}/reopen": "conversation", "POST /inbox/{id}/reply": "conversation",
	"POST /inbox/{id}/unread": "conversation",
	"GET /keywords/{id}":      "keyword", "POST /keywords/{id}": "keyword", "POST /keywords/{id}/delete": "keyword",
	"GET /members/import/{id}": "import", "GET /members/import/{id}/done": "import",
	"GET /members/import/{id}/not-imported.csv": "import", "POST /members/import/{id}": "import",
	"GET /members/{id}": "member", "POST /members/{id}": "member", "POST /members/{id}/{action}": "member",
	"GET /messages/new/media/{id}": "media",
	"GET /messages/{id}":           "broadcast", "GET /messages/{id}/duplicate": "broadcast", "GET /messages/{id}/progress": "broadcast",
	"GET /messages/{id}/recipients.csv": "broadcast", "POST /messages/{id}/stop": "broadcast",
	"GET /numbers/orders/{id}": "order", "GET /numbers/orders/{id}/progress": "order",
	"GET /schedules/{id}": "schedule", "POST /schedules/{id}": "schedule", "POST /schedules/{id}/delete": "schedule",
	"POST /schedules/{id}/pause": "schedule", "POST /schedules/{id}/resume": "schedule",
	"GET /templates/{id}": "template", "POST /templates/{id}": "template", "POST /templates/{id}/delete": "template",
	"POST /admins/invitations/{id}/resend": "invitation", "POST /admins/invitations/{id}/revoke": "invitation",
	"POST /admins/{id}/remove": "admin", "POST /admins/{id}/role": "admin",
	"POST /groups/{id}": "group", "POST /groups/{id}/delete": "group",
	"GET /settings/export/{id}": "export",
}

// Every page, form and htmx fragment that names an object answers 404 when
// the object is another church's — nothing of it is shown or changed.
func TestEveryRouteRefusesOtherChurchIDs(t *testing.T) {
	t.Parallel()
	// The routes in the source with an {id} must all be listed above.
	var inSource []string
	files, _ := os.ReadDir(".")
	route := regexp.MustCompile(`h\.mux\.HandleFunc\("([A-Z]+ [^"]*\{id\}[^"]*)"`)
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		src, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range route.FindAllStringSubmatch(string(src), -1) {
			inSource = append(inSource, m[1])
		}
	}
	sort.Strings(inSource)
	for _, r := range inSource {
		if idRoutes[r] == "" {
			t.Errorf("route %q names an object but is not walked by this test: add it to idRoutes", r)
		}
	}
	if len(inSource) != len(idRoutes) {
		t.Fatalf("%d {id} routes in the source, %d listed: %v", len(inSource), len(idRoutes), inSource)
	}

	testkit.ForEachBackend(t, func(t *testing.T, be *testkit.Backend) {
		s := testkit.NewServer(t, be)
		theirs := s.Church(t, testkit.ChurchOptions{Name: "Hope Church", Number: "+13125550300", QuietHoursOff: true, Members: 1})
		mine := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel"})
		ids := otherChurchObjects(t, s, theirs)

		b := newBrowser(t, s, "en")
		b.post("/signin", url.Values{"email": {mine.Email}, "password": {testkit.Password}, "next": {"/"}})
		for r, kind := range idRoutes {
			method, path, _ := strings.Cut(r, " ")
			path = strings.ReplaceAll(path, "{id}", ids[kind])
			path = strings.ReplaceAll(path, "{action}", "delete")
			form := url.Values{"confirm": {"yes"}, "role": {"sender"}, "name": {"X"}, "text": {"hello"}, "word": {"X"},
				"body": {"hello"}, "first_name": {"X"}}
			var p *page
			if method == http.MethodGet {
				p = b.get(path)
			} else {
				p = b.post(path, form)
			}
			if p.Status != http.StatusNotFound {
				t.Errorf("%s as another church: %d; want 404\n%.300s", r, p.Status, p.Body)
			}
		}
		// Nothing of theirs changed: their broadcast, keyword and member are still there.
		for _, path := range []string{"/api/v1/messages/" + ids["broadcast"], "/api/v1/keywords/" + ids["keyword"],
			"/api/v1/members/" + ids["member"], "/api/v1/templates/" + ids["template"]} {
			theirs.API(s).Call(t, "GET", path, nil, http.StatusOK, nil)
		}
	})
}

// otherChurchObjects makes one object of each kind in c and returns their ids by kind.
func otherChurchObjects(t *testing.T, s *testkit.Server, c *testkit.Church) map[string]string {
	t.Helper()
	api := c.API(s)
	ids := map[string]string{"member": c.MemberIDs[0]}
	var id struct {
		ID string `json:"id"`
	}
	api.Call(t, "POST", "/api/v1/groups", map[string]any{"name": "Choir"}, http.StatusCreated, &id)
	ids["group"] = id.ID
	api.Call(t, "POST", "/api/v1/templates", map[string]any{"name": "Hi", "body": "Hi {first_name}"}, http.StatusCreated, &id)
	ids["template"] = id.ID
	api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "CONNECT"}, http.StatusCreated, &id)
	ids["keyword"] = id.ID
	ids["broadcast"] = api.BroadcastAll(t, "Hello from Hope")
	var sched struct {
		ID string `json:"id"`
	}
	api.Call(t, "POST", "/api/v1/recurring", map[string]any{"name": "Weekly",
		"rule":    map[string]any{"frequency": "weekly", "time": "18:00", "weekdays": []string{"friday"}},
		"message": map[string]any{"text": "See you Friday", "audience": map[string]any{"all": true}}}, http.StatusCreated, &sched)
	ids["schedule"] = sched.ID
	var inv struct {
		Invitation struct{ ID string } `json:"invitation"`
	}
	api.Call(t, "POST", "/api/v1/admins/invitations", map[string]any{"email": "lee@hope.example.org"}, http.StatusCreated, &inv)
	ids["invitation"] = inv.Invitation.ID
	ids["admin"] = api.Me(t).Admin.ID
	owner := newBrowser(t, s, "en")
	owner.signInChurch(c.Email)
	ids["export"] = strings.TrimPrefix(prepareExport(t, owner), "/settings/export/")
	ids["order"] = api.OrderNumber(t, api.Available(t, "area_code=312")[0]).ID
	ids["import"] = postAPI(t, s, c.Token, "/api/v1/imports", "text/csv", []byte("first_name,phone\nAna,+13125550101\n"))
	var pic bytes.Buffer
	_ = png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "picture.png")
	_, _ = fw.Write(pic.Bytes())
	_ = mw.Close()
	ids["media"] = postAPI(t, s, c.Token, "/api/v1/media", mw.FormDataContentType(), body.Bytes())
	if err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: "+13125550777", To: c.Number, Text: "Hello?",
		WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitUntil(t, 15*time.Second, func() bool { return len(api.Conversations(t, "")) == 1 }, "their conversation")
	ids["conversation"] = api.Conversations(t, "")[0].ID
	for kind, v := range ids {
		if v == "" {
			t.Fatalf("no %s id: %v", kind, ids)
		}
	}
	return ids
}

// postAPI posts a raw body to the JSON API and returns the created object's id.
func postAPI(t *testing.T, s *testkit.Server, token, path, contentType string, body []byte) string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ans struct {
		ID       string `json:"id"`
		ImportID string `json:"import_id"`
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	testkit.DecodeJSON(t, string(raw), &ans)
	if ans.ID == "" {
		ans.ID = ans.ImportID
	}
	return ans.ID
}

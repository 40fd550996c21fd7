package numbers_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/internal/testkit"
)

func TestSmokeBuyReleaseRestore(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		r := s.Signup(t, "Grace Chapel", "owner@grace.org", "correct horse battery")
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(r.Raw), &body)
		tok := body.AccessToken
		av := s.Do(t, "GET", "/api/v1/numbers/available?area_code=312", tok, nil)
		if av.Status != 200 {
			t.Fatal(av.Raw)
		}
		num := av.Body["numbers"].([]any)[0].(map[string]any)["number"].(string)
		o := s.Do(t, "POST", "/api/v1/numbers", tok, map[string]any{"number": num})
		if o.Status != http.StatusAccepted {
			t.Fatal(o.Raw)
		}
		var list *testkit.Response
		for i := 0; i < 100; i++ {
			list = s.Do(t, "GET", "/api/v1/numbers", tok, nil)
			if ns, _ := list.Body["numbers"].([]any); len(ns) == 1 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Log(list.Raw)
		if ns, _ := list.Body["numbers"].([]any); len(ns) != 1 {
			t.Fatal("not bought")
		}
		rel := s.Do(t, "DELETE", "/api/v1/numbers/"+num, tok, nil)
		t.Log(rel.Raw)
		res := s.Do(t, "POST", "/api/v1/numbers/"+num+"/restore", tok, nil)
		t.Log(res.Raw)
		if res.Status != 200 {
			t.Fatal(res.Raw)
		}
	})
}

package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/web/webtest"
)

// testPNG writes a small opaque PNG (a map of the picnic) and returns its
// path and bytes.
func testPNG(t *testing.T) (string, []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "picnic-map.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// In a real browser: upload an image on compose, then on the review "Send a
// test to me" — first saving "My phone", which the page asks for — and the
// simulator gets exactly one text, to the admin's phone; then send the MMS
// to a group: the simulator gets it with a media URL under
// STEEPLE_PUBLIC_URL/media/ that serves the uploaded image.
func TestBrowserMMSAndTestToMe(t *testing.T) {
	t.Parallel()
	s := testkit.NewServer(t, testkit.SQLite(t)) // the queue runs: the broadcast is really sent
	b := newBrowser(t, s, "en")
	readyChurch(t, s, b, "Grace Chapel", "ruth@grace.example.org", "+13125550142")
	file, data := testPNG(t)

	p := webtest.New(t, 1024, 900)
	p.Language("en-US")
	signInBrowser(p, s, "ruth@grace.example.org")
	p.Do(chromedp.Navigate(s.URL+"/messages/new"), chromedp.WaitVisible("#c-body"),
		chromedp.SendKeys("#c-body", "Picnic on Sunday after the service! Here is the map."),
		chromedp.SetUploadFiles("#c-file", []string{file}), chromedp.Click(`button[name=op][value=upload]`),
		chromedp.WaitVisible("#c-thumb"))
	p.WaitTrue(`(() => { const i = document.querySelector("#c-thumb"); return i.complete && i.naturalWidth === 64 })()`,
		"the uploaded image's thumbnail to load")
	if got := webtest.Eval[string](p, `document.querySelector("#c-body").value`); !strings.HasPrefix(got, "Picnic on Sunday") {
		t.Fatalf("the text was lost by the upload: %q", got)
	}
	p.Do(chromedp.Click(`input[name=audience][value=groups]`), chromedp.Click(`input[name=group_id]`))
	p.WaitText("#aud-recipients", "1 person will get this text")
	p.Do(chromedp.Click("#review-button"), chromedp.WaitVisible("#send-button"))
	p.WaitText("#rv-nophone", "We don't have your own mobile number")
	p.Axe()

	// Save "My phone", then the test.
	p.Do(chromedp.SendKeys("#my-phone", "(312) 555-0177"), chromedp.Click("#save-phone-button"), chromedp.WaitVisible("#test-button"))
	p.WaitText("#rv-phone-saved", "(312) 555-0177")
	p.Do(chromedp.Click("#test-button"), chromedp.WaitVisible("#rv-test-sent"))
	p.WaitText("#rv-test-sent", "A test went to your phone, (312) 555-0177")
	p.Axe()
	p.Screenshot(screens, "review-test")
	msgs := s.Sim.Messages()
	if len(msgs) != 1 || msgs[0].To != "+13125550177" || msgs[0].Type != "MMS" {
		t.Fatalf("after the test the simulator has %+v; want one MMS to the admin's phone", msgs)
	}
	for _, member := range []string{"+13125550601", "+13125550602", "+13125550603"} {
		if n := s.Sim.CountTo(member); n != 0 {
			t.Fatalf("member %s got %d texts from the test", member, n)
		}
	}

	// Send it to the group: Zoë gets the MMS, with the image at our URL.
	p.Do(chromedp.Click("#send-button"), chromedp.WaitNotPresent("#send-button"), chromedp.WaitVisible("#progress"))
	testkit.WaitUntil(t, 20*time.Second, func() bool { return s.Sim.CountTo("+13125550601") == 1 }, "the MMS to reach the simulator")
	var urls []string
	for _, m := range s.Sim.Messages() {
		if m.To == "+13125550601" {
			if m.Type != "MMS" || len(m.MediaURLs) != 1 || m.Text != "Picnic on Sunday after the service! Here is the map." {
				t.Fatalf("the member's text: %+v", m)
			}
			urls = m.MediaURLs
		}
	}
	if len(urls) != 1 || !strings.HasPrefix(urls[0], s.URL+"/media/") {
		t.Fatalf("media URLs %v; want one under %s/media/", urls, s.URL)
	}
	resp, err := http.Get(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.Equal(served, data) {
		t.Fatalf("GET the media URL: %d %s, %d bytes (uploaded %d)", resp.StatusCode, resp.Header.Get("Content-Type"), len(served), len(data))
	}
	if n := s.Sim.CountTo("+13125550603"); n != 0 {
		t.Fatalf("a member outside the group got %d texts", n)
	}
}

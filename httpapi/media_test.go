package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
)

// uploadMedia posts data as multipart/form-data field "file".
func uploadMedia(t *testing.T, s *testkit.Server, token string, data []byte) *testkit.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "picture")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &testkit.Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func smallPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// noisyJPEG is a photograph-sized JPEG well over 1 MB (noise compresses badly).
func noisyJPEG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2400, 1600))
	r := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 1600; y++ {
		for x := 0; x < 2400; x++ {
			img.Set(x, y, color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	if b.Len() <= messaging.MaxMediaBytes {
		t.Fatalf("test image is only %d bytes", b.Len())
	}
	return b.Bytes()
}

func TestMediaUploadAndLinks(t *testing.T) {
	t.Parallel()
	big := noisyJPEG(t)
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		ctx := context.Background()
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		other := signup(t, s, "Other Church", "owner@other.example.org", pw2)
		const number = "+13125559001"
		if err := s.Tenancy.Registry.AssignNumber(ctx, a.tenantID, number); err != nil {
			t.Fatal(err)
		}
		postMember(t, s, a.access, "Ann", "Arbor", "+13125550501", true)
		all := map[string]any{"all": true}

		small := smallPNG(t)
		r := uploadMedia(t, s, a.access, small)
		wantStatus(t, r, http.StatusCreated)
		var up store.Upload
		r.Decode(t, &up)
		id := up.ID
		if id == "" || up.ContentType != "image/png" || up.Size != len(small) || up.Width != 40 {
			t.Fatalf("small upload: %s", r.Raw)
		}

		r = uploadMedia(t, s, a.access, big)
		wantStatus(t, r, http.StatusCreated)
		up = store.Upload{}
		r.Decode(t, &up)
		if up.Size > messaging.MaxMediaBytes || up.ContentType != "image/jpeg" || up.Width > 2048 || up.Width < 100 {
			t.Fatalf("big upload not scaled to fit 1 MB: %s", r.Raw)
		}

		r = uploadMedia(t, s, a.access, []byte("GIF89a but not really"))
		wantStatus(t, r, http.StatusBadRequest)
		wantField(t, r, "file")
		if r := uploadMedia(t, s, "", small); r.Status != http.StatusUnauthorized {
			t.Fatalf("upload without a token: %d", r.Status)
		}

		// Another church's media id, or one that does not exist, is a 404.
		for _, tok := range []string{other.access} {
			r = s.Do(t, "GET", "/api/v1/media/"+id, tok, nil)
			wantStatus(t, r, http.StatusNotFound)
			r = s.Do(t, "POST", "/api/v1/messages/preview", tok, map[string]any{"text": "hi", "media_ids": []string{id}, "audience": all})
			wantStatus(t, r, http.StatusNotFound)
		}
		r = s.Do(t, "POST", "/api/v1/messages", a.access, map[string]any{"text": "hi", "media_ids": []string{steeple.NewID()}, "audience": all})
		wantStatus(t, r, http.StatusNotFound)

		// Sent as MMS: the provider gets a signed link under the public URL.
		sent := sendBroadcast(t, s, a.access, map[string]any{"text": "Our new building", "media_ids": []string{id}, "audience": all})
		if sent.Message.Recipients != 1 {
			t.Fatalf("broadcast: %+v", sent)
		}
		var link string
		for _, m := range s.Sim.Messages() {
			if m.To == "+13125550501" && len(m.MediaURLs) == 1 {
				link = m.MediaURLs[0]
			}
		}
		if !strings.HasPrefix(link, s.URL+"/media/") || strings.Contains(link, id+"?") {
			t.Fatalf("provider's media link %q is not under %s/media/", link, s.URL)
		}
		get := func(u string) (int, []byte, string) {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, body, resp.Header.Get("Content-Type")
		}
		if status, body, ct := get(link); status != 200 || !bytes.Equal(body, small) || ct != "image/png" {
			t.Fatalf("fetching the link: %d %s, %d bytes", status, ct, len(body))
		}
		tampered := link[:len(link)-1] + map[bool]string{true: "0", false: "1"}[!strings.HasSuffix(link, "0")]
		if status, _, _ := get(tampered); status != 404 {
			t.Fatalf("tampered link: %d", status)
		}
		otherLink := strings.Replace(link, a.tenantID, other.tenantID, 1)
		if status, _, _ := get(otherLink); status != 404 {
			t.Fatalf("link moved to another church: %d", status)
		}
		// Signed with the blind-index key: a link handed out before that
		// key's rotation works while the previous key is kept, not after.
		rotated, err := secret.RotateBlindIndex(s.KeysFile)
		if err != nil || s.Keys.Swap(rotated) != nil {
			t.Fatal(err)
		}
		if status, _, _ := get(link); status != 200 {
			t.Fatalf("link after a blind-index rotation: %d", status)
		}
		retired, _ := secret.RetireBlindIndex(rotated)
		if err := s.Keys.Swap(retired); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := get(link); status != 404 {
			t.Fatalf("link after its key was retired: %d", status)
		}
		if err := s.Keys.Swap(s.KeysFile); err != nil {
			t.Fatal(err)
		}
		s.Clock.Add(messaging.MediaLinkTTL + time.Minute)
		if status, _, _ := get(link); status != 404 {
			t.Fatalf("expired link: %d", status)
		}
	})
}

func TestMediaURLsMustBePublic(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b)
		a := signup(t, s, "Grace Chapel", "owner@grace.example.org", pw1)
		postMember(t, s, a.access, "Ann", "Arbor", "+13125550501", true)
		for _, u := range []string{
			"http://127.0.0.1/a.jpg", "http://localhost:8080/a.jpg", "http://10.0.0.5/a.jpg", "http://192.168.1.1/a.jpg",
			"http://169.254.169.254/latest/meta-data", "http://[::1]/a.jpg", "http://[fe80::1]/a.jpg", "http://0.0.0.0/a.jpg",
			"http://100.64.0.1/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg", "https://cdn.internal.test/a.jpg",
			"https://nowhere.invalid/a.jpg", "ftp://example.org/a.jpg", "file:///etc/passwd",
		} {
			r := s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": "hi", "media_urls": []string{u}, "audience": map[string]any{"all": true}})
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s: %d %s; want 400", u, r.Status, r.Raw)
				continue
			}
			wantField(t, r, "media_urls")
		}
		r := s.Do(t, "POST", "/api/v1/messages/preview", a.access, map[string]any{"text": "hi", "media_urls": []string{"https://example.org/a.jpg", "http://93.184.215.14/b.png"}, "audience": map[string]any{"all": true}})
		wantStatus(t, r, http.StatusOK)
	})
}

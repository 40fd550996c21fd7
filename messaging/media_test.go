package messaging

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/netip"
	"testing"

	"github.com/steeple-sms/steeple"
)

func TestPrepareImageRefusesWhatIsNotAnImage(t *testing.T) {
	// A GIF header claiming 65535x65535 pixels: refused before decoding.
	bomb := append([]byte("GIF89a"), 0xff, 0xff, 0xff, 0xff, 0, 0, 0)
	for name, data := range map[string][]byte{"text": []byte("hello"), "empty": nil, "huge gif": bomb,
		"svg": []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)} {
		_, err := PrepareImage(data)
		if steeple.ErrorCode(err) != steeple.EINVALID {
			t.Errorf("%s: %v; want invalid", name, err)
			continue
		}
		if e, ok := err.(*steeple.Error); !ok || e.Fields["file"] == "" {
			t.Errorf("%s: error does not name field file: %v", name, err)
		}
	}
}

func TestEncodeImageKeepsTransparency(t *testing.T) {
	solid := image.NewRGBA(image.Rect(0, 0, 8, 8))
	clear := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for y := range 8 {
		for x := range 8 {
			solid.Set(x, y, color.RGBA{200, 10, 10, 255})
			clear.Set(x, y, color.RGBA{0, 0, 0, uint8(x * 30)})
		}
	}
	if _, ct, _ := encodeImage(solid, "png"); ct != "image/jpeg" {
		t.Errorf("opaque PNG re-encoded as %s; want a JPEG", ct)
	}
	out, ct, _ := encodeImage(clear, "png")
	if ct != "image/png" {
		t.Fatalf("transparent PNG re-encoded as %s; want a PNG", ct)
	}
	if _, err := png.Decode(bytes.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	if s := scaleToFit(image.NewRGBA(image.Rect(0, 0, 3000, 1000)), 300).Bounds(); s.Dx() != 300 || s.Dy() != 100 {
		t.Fatalf("scaled to %v; want 300x100", s)
	}
}

func TestPublicAddr(t *testing.T) {
	for a, want := range map[string]bool{"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true,
		"127.0.0.1": false, "10.0.0.1": false, "172.16.5.4": false, "192.168.0.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fd00::1": false, "::ffff:10.0.0.1": false, "224.0.0.1": false} {
		if got := publicAddr(netip.MustParseAddr(a)); got != want {
			t.Errorf("publicAddr(%s) = %v; want %v", a, got, want)
		}
	}
}

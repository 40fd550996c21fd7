package messaging

import (
	"bytes"
	"context"
	"crypto/subtle"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// MaxMediaBytes is the largest image sent by MMS: carriers refuse more than
// 1 MB (Telnyx 40317), so larger uploads are scaled down to fit.
const MaxMediaBytes = 1_000_000

// maxMediaPixels refuses images whose decoded size alone would cost
// hundreds of megabytes (a small file can claim huge dimensions).
const maxMediaPixels = 40_000_000

// maxMediaSide is the longest side a scaled-down image starts from; no
// phone screen shows more.
const maxMediaSide = 2048

// MediaLinkTTL is how long a media link given to the provider works: the
// provider fetches it when sending, and retries stay within a week.
const MediaLinkTTL = 7 * 24 * time.Hour

// mediaSignPurpose separates media link signatures from other keyed hashes.
const mediaSignPurpose = "media-link"

// PrepareImage checks that data is a JPEG, PNG or GIF image and, when it is
// larger than MaxMediaBytes, scales it down until it fits. It touches no
// database, so an upload is processed before the church's connection is
// taken. Errors: EINVALID on field "file".
func PrepareImage(data []byte) (*store.Upload, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png" && format != "gif") {
		return nil, steeple.FieldError("file", "must be a JPEG, PNG or GIF image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxMediaPixels {
		return nil, steeple.FieldError("file", "is too large an image (more than 40 megapixels)")
	}
	u := &store.Upload{ContentType: "image/" + format, Width: cfg.Width, Height: cfg.Height, Data: data}
	if len(data) <= MaxMediaBytes {
		return u, nil
	}
	img, _, err := image.Decode(bytes.NewReader(data)) // a GIF's first frame
	if err != nil {
		return nil, steeple.FieldError("file", "could not be read as an image: it may be damaged")
	}
	side := min(max(cfg.Width, cfg.Height), maxMediaSide)
	for range 12 {
		scaled := scaleToFit(img, side)
		out, ct, err := encodeImage(scaled, format)
		if err != nil {
			return nil, err
		}
		if len(out) <= MaxMediaBytes {
			b := scaled.Bounds()
			return &store.Upload{ContentType: ct, Width: b.Dx(), Height: b.Dy(), Data: out}, nil
		}
		side = side * 3 / 4
		if side < 16 {
			break
		}
	}
	return nil, steeple.FieldError("file", "could not be made smaller than 1 MB")
}

// scaleToFit returns img scaled so its longer side is at most side.
func scaleToFit(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	if w >= h {
		w, h = side, max(1, h*side/w)
	} else {
		w, h = max(1, w*side/h), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, xdraw.Src, nil)
	return dst
}

// encodeImage writes img as JPEG, or as PNG when it came as a PNG or GIF
// with transparency (JPEG has none); an opaque PNG or GIF becomes a JPEG,
// far smaller for photographs.
func encodeImage(img image.Image, format string) ([]byte, string, error) {
	var buf bytes.Buffer
	if format != "jpeg" && !opaque(img) {
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, img); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "image/png", nil
	}
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), "image/jpeg", nil
}

func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

var _ = gif.Decode // registers the GIF decoder for image.Decode

// SaveMedia stores an image prepared by PrepareImage in the church's database.
func (s *Service) SaveMedia(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, u *store.Upload) (*store.Upload, error) {
	u.CreatedBy = admin.ID
	if err := s.store.CreateMedia(ctx, h, u); err != nil {
		return nil, err
	}
	return u, nil
}

// MediaLink returns the unguessable URL under the public URL at which the
// provider fetches a church's image until expires. Treat it as a
// credential: it is never logged.
func (s *Service) MediaLink(tenantID, mediaID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	token := tenantID + "." + mediaID + "." + exp + "." + s.mediaSig(tenantID, mediaID, exp)
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/media/" + token
}

func (s *Service) mediaSig(tenantID, mediaID, exp string) string {
	return s.store.Sign(mediaSignPurpose, tenantID+"|"+mediaID+"|"+exp)[:32]
}

// mediaSigOK says whether sig is the link's signature under the current
// blind-index key or, during its rotation, the previous one.
func (s *Service) mediaSigOK(tenantID, mediaID, exp, sig string) bool {
	for _, want := range s.store.Signatures(mediaSignPurpose, tenantID+"|"+mediaID+"|"+exp) {
		if subtle.ConstantTimeCompare([]byte(want[:32]), []byte(sig)) == 1 {
			return true
		}
	}
	return false
}

// OpenMediaToken checks a media link's token and says which church and
// image it names. Errors: ENOTFOUND for a token that is malformed, forged
// or expired (one answer for all, so a token reveals nothing).
func (s *Service) OpenMediaToken(token string) (tenantID, mediaID string, err error) {
	notFound := steeple.Errorf(steeple.ENOTFOUND, "no such media")
	parts := strings.Split(token, ".")
	if len(parts) != 4 || !steeple.ValidID(parts[1]) {
		return "", "", notFound
	}
	exp, perr := strconv.ParseInt(parts[2], 10, 64)
	if perr != nil || s.now().Unix() >= exp {
		return "", "", notFound
	}
	if !s.mediaSigOK(parts[0], parts[1], parts[2], parts[3]) {
		return "", "", notFound
	}
	return parts[0], parts[1], nil
}

// Media returns a church's image with its bytes. Errors: ENOTFOUND.
func (s *Service) Media(ctx context.Context, h *tenancy.Handle, id string) (*store.Upload, error) {
	return s.store.Upload(ctx, h, id)
}

// checkMediaURL says what is wrong with a media URL given through the API,
// or "" when it may be used: http or https, and a host that resolves only
// to public addresses (never loopback, private, link-local or unspecified),
// so a church cannot point the provider, or anything fetching for it, at
// an internal service.
func (s *Service) checkMediaURL(ctx context.Context, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "each must be an http(s) URL"
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		ips, err := s.lookupIP(ctx, host)
		if err != nil || len(ips) == 0 {
			return "each must name a host that can be found (" + host + " could not be resolved)"
		}
		for _, ip := range ips {
			if a, ok := netip.AddrFromSlice(ip.IP); ok {
				addrs = append(addrs, a)
			}
		}
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return "each must point to a public address, not a loopback, private or link-local one"
		}
	}
	return ""
}

// lookupIP resolves host with Config.LookupIP or the system resolver.
func (s *Service) lookupIP(ctx context.Context, host string) ([]net.IPAddr, error) {
	if s.cfg.LookupIP != nil {
		return s.cfg.LookupIP(ctx, host)
	}
	return net.DefaultResolver.LookupIPAddr(ctx, host)
}

var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT

func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() &&
		!a.IsLinkLocalMulticast() && !a.IsInterfaceLocalMulticast() && !a.IsMulticast() &&
		!a.IsUnspecified() && !sharedAddressSpace.Contains(a)
}

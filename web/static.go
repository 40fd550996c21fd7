package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// assets are the embedded static files, each served under a name carrying
// a hash of its content, so a URL's content never changes and browsers may
// cache it for a year.
type assets struct {
	byHashed map[string]asset  // "app.1a2b3c4d5e.css" → file
	urlOf    map[string]string // "app.css" → "/static/app.1a2b3c4d5e.css"
}

type asset struct {
	body        []byte
	contentType string
}

func loadAssets() (*assets, error) {
	a := &assets{byHashed: map[string]asset{}, urlOf: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		base := path.Base(p)
		ext := path.Ext(base)
		hashed := strings.TrimSuffix(base, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.byHashed[hashed] = asset{body: b, contentType: mime.TypeByExtension(ext)}
		a.urlOf[strings.TrimPrefix(p, "static/")] = "/static/" + hashed
		return nil
	})
	return a, err
}

// url returns the hashed URL of a static file ("vendor/htmx-2.0.11.min.js").
func (a *assets) url(name string) string {
	if u, ok := a.urlOf[name]; ok {
		return u
	}
	panic("web: no static file " + name) // a template names a file that is not embedded
}

// serveStatic answers a hashed static file, cacheable for a year.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	f, ok := h.static.byHashed[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(f.body)
}

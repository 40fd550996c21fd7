// Package webtest drives the web app in a real Chromium (Debian's
// chromium package) through chromedp: one browser per test binary, a fresh
// browser context (its own cookies) per test, axe-core accessibility checks
// and screenshots. Tests skip when no Chromium is found, unless
// STEEPLE_TEST_REQUIRE_BROWSER=1 says they must run.
package webtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The one browser of this test binary, started on first use.
var (
	once       sync.Once
	browserCtx context.Context
	stopAll    func()
	startErr   error
)

// findChromium returns the browser to use: $CHROMIUM, else the usual names.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func start() {
	path := findChromium()
	if path == "" {
		startErr = fmt.Errorf("no Chromium found (install Debian's chromium package or set CHROMIUM)")
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("headless", true),
		chromedp.Flag("font-render-hinting", "none"), chromedp.Flag("hide-scrollbars", true))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		startErr = fmt.Errorf("starting %s: %w", path, err)
		return
	}
	browserCtx, stopAll = ctx, func() { cancel(); cancelAlloc() }
}

// Close stops the browser; call it from TestMain after m.Run.
func Close() {
	if stopAll != nil {
		stopAll()
	}
}

// Page is one test's browser tab in a fresh browser context.
type Page struct {
	t   *testing.T
	ctx context.Context
}

// New opens a tab in a new browser context (no cookies shared with other
// tests), w pixels wide, with animations reduced. It skips the test when no
// browser can run, or fails it when STEEPLE_TEST_REQUIRE_BROWSER=1.
func New(t *testing.T, width, height int64) *Page {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		if os.Getenv("STEEPLE_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatalf("browser test required (STEEPLE_TEST_REQUIRE_BROWSER=1): %v", startErr)
		}
		t.Skipf("skipping browser test: %v; set STEEPLE_TEST_REQUIRE_BROWSER=1 to make this a failure", startErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	p := &Page{t: t, ctx: ctx}
	p.Do(chromedp.EmulateViewport(width, height))
	p.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
		return err
	})
	return p
}

// Do runs chromedp actions, failing the test on error.
func (p *Page) Do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatal(err)
	}
}

func (p *Page) call(f func(ctx context.Context) error) {
	p.t.Helper()
	if err := f(p.ctx); err != nil {
		p.t.Fatal(err)
	}
}

// Eval evaluates a JavaScript expression (awaiting a promise) into T.
func Eval[T any](p *Page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// Language makes the browser ask for lang (Accept-Language).
func (p *Page) Language(lang string) {
	p.call(func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
		return err
	})
}

// Text returns the text of the first element matching sel, waiting for it.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	p.Do(chromedp.WaitVisible(sel))
	s, err := chromedp.Run(p.ctx, chromedp.Text(sel, chromedp.NodeVisible))
	if err != nil {
		p.t.Fatal(err)
	}
	return strings.TrimSpace(s)
}

// WaitText waits until the element sel holds text (a condition, not a sleep).
func (p *Page) WaitText(sel, text string) {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, text)
	if err := p.poll(js); err != nil {
		p.t.Fatalf("waiting for %q in %s: %v (page: %s)", text, sel, err, p.Location())
	}
}

// WaitTrue waits until the JavaScript expression js is true (an image
// loaded, a count reached): a condition, not a sleep.
func (p *Page) WaitTrue(js, what string) {
	p.t.Helper()
	if err := p.poll(js); err != nil {
		p.t.Fatalf("waiting for %s: %v (page: %s)", what, err, p.Location())
	}
}

// poll waits up to 30 s for js to be true. A navigation that lands while
// it waits (a form's redirect arriving late) ends one poll, so it polls
// again on the new page rather than failing.
func (p *Page) poll(js string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil || !navigationCut(err) || time.Now().After(deadline) {
			return err
		}
	}
}

// navigationCut says err is the browser dropping an evaluation because the
// page navigated under it (its target or execution context went away).
func navigationCut(err error) bool {
	m := err.Error()
	return strings.Contains(m, "navigated or closed") || strings.Contains(m, "Cannot find context with specified id")
}

// Location is the page's URL.
func (p *Page) Location() string {
	u, _ := chromedp.Run(p.ctx, chromedp.Location())
	return u
}

// NoSideways fails when the page scrolls sideways.
func (p *Page) NoSideways() {
	p.t.Helper()
	sw := Eval[int64](p, `document.documentElement.scrollWidth`)
	cw := Eval[int64](p, `document.documentElement.clientWidth`)
	if sw > cw {
		p.t.Fatalf("%s scrolls sideways: %d px wide in a %d px window", p.Location(), sw, cw)
	}
}

// axeSource is axe-core, loaded once from the test asset.
var (
	axeOnce sync.Once
	axeSrc  string
	axeErr  error
)

// AxeFile is where the axe-core test asset lives, relative to the web package.
const AxeFile = "testdata/axe-4.14.1.min.js"

// Axe injects axe-core into the page and fails the test on any violation.
func (p *Page) Axe() {
	p.t.Helper()
	axeOnce.Do(func() {
		var b []byte
		b, axeErr = os.ReadFile(AxeFile)
		axeSrc = string(b)
	})
	if axeErr != nil {
		p.t.Fatal(axeErr)
	}
	if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[*runtime.RemoteObject](axeSrc)); err != nil {
		p.t.Fatal(err)
	}
	raw := Eval[string](p, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))))`)
	var vs []map[string]any
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		p.t.Fatalf("axe: %v: %s", err, raw)
	}
	if len(vs) > 0 {
		p.t.Fatalf("axe found %d violation(s) on %s: %s", len(vs), p.Location(), raw)
	}
}

// Screenshot saves a full-page PNG as docs/screens/name.png when
// STEEPLE_SCREENSHOTS=1 (dir is the docs/screens folder).
func (p *Page) Screenshot(dir, name string) {
	p.t.Helper()
	if os.Getenv("STEEPLE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

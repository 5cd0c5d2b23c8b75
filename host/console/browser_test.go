package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wahost/wahost/host/wafake"
)

// TestConsole walks the console as an operator would: a wrong key, then
// the right one; an instance created, its QR code shown, the fake phone
// scanning it and the page turning to "connected" by itself; the fake
// server dropping the session and the timeline showing the policy's
// reason; a reload changing the policy's generation. Every page is checked
// for labels, contrast and a 375 px width.
func TestConsole(t *testing.T) {
	e := newEnv(t)
	e.do("open the console", chromedp.Navigate(e.base+"/console/"))

	// A wrong key is refused with a message, not a blank page.
	e.signIn("not-the-key")
	e.waitFor("the refusal", `(document.querySelector('#login-msg [role=alert]')||{}).textContent?.includes('refused')`)
	e.checkPage("sign-in")
	e.screenshot("sign-in-refused")

	e.signIn(apiKey)
	e.waitFor("the instances page", `!!document.getElementById('new-name') && document.getElementById('live').textContent === 'live'`)
	eval[bool](e, `(window.__sameDocument = true)`)

	// Create an instance and ask for its QR code.
	eval[bool](e, `(() => { const i = document.getElementById('new-name'); i.value = 'sales';
		i.form.requestSubmit(); return true })()`)
	e.waitFor("the new instance", `!!document.querySelector('article[data-name="sales"]')`)
	eval[bool](e, `(location.hash = '#/link/sales', true)`)
	e.waitFor("the link page", `!!document.getElementById('show-qr')`)
	eval[bool](e, `(document.getElementById('show-qr').click(), true)`)
	e.waitFor("a QR image", `(() => { const q = document.getElementById('qr'); return q && !q.hidden && q.src.startsWith('data:image/png;base64,') && q.naturalWidth > 0 })()`)
	if got := eval[string](e, `document.getElementById('qr-count').textContent`); !strings.Contains(got, "QR code 1") {
		t.Fatalf("QR count reads %q", got)
	}
	e.checkPage("link")
	e.screenshot("link")

	// The fake phone scans the code shown; WhatsApp then restarts the
	// stream (515), the policy reconnects and the page says connected,
	// without a reload.
	conn := e.accept((*wafake.Conn).Registering)
	qr := e.api("GET", "/v1/instances/sales/qr")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jid, err := conn.Pair(ctx, wafake.NewPhone("5511977776666"), fmt.Sprint(qr["code"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := wafake.StreamError("515")(ctx, conn); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the status to turn open", `!!document.querySelector('#link-state .connected') && document.querySelector('#link-state .badge').textContent === 'open'`)
	if !eval[bool](e, `window.__sameDocument === true`) {
		t.Fatal("the page reloaded")
	}
	e.screenshot("linked")

	// The fake server drops the session; the timeline shows the decision
	// and the policy's reason as it arrives.
	eval[bool](e, `(location.hash = '#/timeline/sales', true)`)
	e.waitFor("the timeline", `!!document.getElementById('disconnects')`)
	before := eval[int](e, `document.querySelectorAll('#disconnects li[data-id]').length`)
	live := e.accept(func(c *wafake.Conn) bool { return c.DeviceJID() == jid })
	<-live.ScriptDone() // the login's own script has finished
	if err := wafake.StreamError("503")(ctx, live); err != nil {
		t.Logf("dropping: %v", err) // the client may close first when it reads the error
	}
	e.waitFor("the 503 row", fmt.Sprintf(`document.querySelectorAll('#disconnects li[data-id]').length > %d &&
		document.querySelector('#disconnects li[data-id] .code').textContent === '503'`, before))
	rows := e.api("GET", "/v1/instances/sales/disconnects")["disconnects"].([]any)
	decision := rows[0].(map[string]any)["decision"].(map[string]any)
	reason := fmt.Sprint(decision["reason"])
	if got := eval[string](e, `document.querySelector('#disconnects li[data-id] .reason').textContent`); reason == "" || !strings.Contains(got, reason) {
		t.Fatalf("timeline reason %q, the policy's %q", got, reason)
	}
	e.waitFor("the chart", `document.getElementById('chart').getAttribute('aria-label').includes('code 503')`)
	e.waitFor("the webhooks", `document.querySelectorAll('#deliveries .badge').length > 0`)
	e.checkPage("timeline")
	e.screenshot("timeline")

	// A reload that changes the policy's settings makes a new generation.
	eval[bool](e, `(location.hash = '#/policy', true)`)
	e.waitFor("the policy page", `!!document.querySelector('#active-slot .generation')`)
	gen := eval[string](e, `document.querySelector('#active-slot .generation').textContent`)
	e.writeConfig("11m")
	eval[bool](e, `(document.getElementById('reload').click(), true)`)
	e.waitFor("a new generation", fmt.Sprintf(`document.querySelector('#active-slot .generation').textContent !== %q`, gen))
	e.waitFor("the reload in the history", `[...document.querySelectorAll('#reloads li')].some((li) => li.textContent.includes('applied (api)'))`)
	// Replaying the recorded disconnects with the built-in module shows
	// what would change: nothing, as it is the module that decided them.
	eval[bool](e, `(() => { const i = document.getElementById('replay-module'); i.value = 'builtin:default';
		i.form.requestSubmit(); return true })()`)
	e.waitFor("the replay summary", `(document.getElementById('replay-summary')||{}).textContent?.includes('2 disconnects read')`)
	if got := eval[string](e, `document.getElementById('replay-summary').textContent`); !strings.Contains(got, "2 same, 0 changed, 0 faults") {
		t.Fatalf("replay summary %q", got)
	}
	e.checkPage("policy")
	e.screenshot("policy")

	// Webhooks to a closed port fail at once (max_attempts 1) and are
	// listed with their error.
	eval[bool](e, `(location.hash = '#/webhooks', true)`)
	e.waitFor("failed webhooks", `document.querySelectorAll('#failed article button').length > 0`)
	e.checkPage("webhooks")
	e.screenshot("webhooks")

	eval[bool](e, `(location.hash = '#/instances', true)`)
	e.waitFor("the instance card", `(document.querySelector('article[data-name="sales"] .badge')||{}).textContent === 'open' &&
		document.querySelector('article[data-name="sales"] dd .code').textContent === '503'`)
	e.checkPage("instances")
	e.screenshot("instances")
	e.do("phone width", chromedp.EmulateViewport(375, 812))
	e.screenshot("instances-375px")
}

func (e *env) signIn(key string) {
	e.t.Helper()
	e.waitFor("the sign-in form", `!!document.getElementById('apikey')`)
	eval[bool](e, fmt.Sprintf(`(() => { const i = document.getElementById('apikey'); i.value = %q;
		i.form.requestSubmit(); return true })()`, key))
}

// checkPage runs the accessibility check at the desktop width and at
// 375 px, then restores the desktop width.
func (e *env) checkPage(name string) {
	e.t.Helper()
	for _, w := range []int64{1280, 375} {
		e.do("resize", chromedp.EmulateViewport(w, 800))
		if got := eval[[]string](e, a11yCheck); len(got) > 0 {
			e.t.Errorf("%s at %d px:\n%s", name, w, problems(got))
		}
	}
	e.do("resize", chromedp.EmulateViewport(1280, 900))
}

// accept returns the next connection to the fake server that matches.
func (e *env) accept(match func(*wafake.Conn) bool) *wafake.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		c, err := e.srv.Accept(ctx)
		if err != nil {
			e.t.Fatalf("waiting for a connection: %v", err)
		}
		if match(c) {
			return c
		}
	}
}

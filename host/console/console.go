// Package console serves wahost's web console at /console: hand-written
// HTML, CSS and JavaScript modules embedded in the binary, with nothing
// fetched from elsewhere and no build step. The console has no back end of
// its own: it calls the admin API and reads the event stream
// (GET /v1/events) with the API key the user enters, which it keeps in the
// tab's session storage. The assets themselves need no key; everything
// they show does.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console is served.
const Prefix = "/console"

// csp allows the console's own files only; QR codes arrive as data: URLs.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the console's files under Prefix.
func Handler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix+"/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix {
			http.Redirect(w, r, Prefix+"/", http.StatusMovedPermanently)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Wrap serves the console at Prefix and passes every other request to
// next.
func Wrap(next http.Handler) http.Handler {
	console := Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix || strings.HasPrefix(r.URL.Path, Prefix+"/") {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "the console is read with GET", http.StatusMethodNotAllowed)
				return
			}
			console.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

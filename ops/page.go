package ops

import (
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"time"
)

// The page's assets are part of the binary: no build step, nothing
// fetched from elsewhere, so it works on a closed network.
//
//go:embed static
var staticFS embed.FS

var pageTmpl = template.Must(template.ParseFS(staticFS, "static/index.html"))

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// handlePage renders the page with the topology of the moment (so it is
// useful without JavaScript); the script then polls /api/topology.
func (p *Ops) handlePage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	t := p.Topology(ctx)
	js, _ := json.Marshal(t)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, struct {
		T    *Topology
		JSON template.JS
	}{t, template.JS(js)})
}

package tlsconf

import (
	"errors"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
)

// ErrReconfigure is CONFIG SET's answer when the new TLS files fail to
// load: Redis's text; the reason goes to the log.
var ErrReconfigure = errors.New("Unable to update TLS configuration. Check server logs.")

// Needed reports whether the configuration uses TLS anywhere (Redis
// configures it when tls-port, tls-replication or tls-cluster is set).
func Needed(cfg *config.Config) bool {
	return cfg.Int("tls-port") != 0 || cfg.Bool("tls-replication") || cfg.Bool("tls-cluster")
}

var bound sync.Map // *config.Config -> *boundManager

type boundManager struct {
	once sync.Once
	m    *Manager
	err  error
}

// For is Bind, once per configuration: the RESP server, the admin API and
// the Raft transport of one process share one Manager.
func For(cfg *config.Config, log hclog.Logger) (*Manager, error) {
	v, _ := bound.LoadOrStore(cfg, &boundManager{})
	b := v.(*boundManager)
	b.once.Do(func() { b.m, b.err = Bind(cfg, log) })
	return b.m, b.err
}

// Bind builds the process's Manager from cfg, loading the files when TLS
// is needed (an error then stops start-up), and reloads them whenever a
// tls-* option is set at run time: a failed reload keeps the current
// files, logs why and refuses the CONFIG SET with Redis's text.
func Bind(cfg *config.Config, log hclog.Logger) (*Manager, error) {
	m := &Manager{}
	m.SetAuthClients(ParseAuthMode(cfg.String("tls-auth-clients")))
	get := func(name string) string {
		v := cfg.String(name)
		if v != "" && fileOptions[name] && !filepath.IsAbs(v) {
			// redis-server has chdir'ed to dir when it loads them.
			v = filepath.Join(cfg.String("dir"), v)
		}
		return v
	}
	if Needed(cfg) {
		if err := m.Reload(OptionsFrom(get)); err != nil {
			return nil, err
		}
	}
	started := false
	reload := func(string) error {
		if !started || !Needed(cfg) {
			return nil
		}
		if err := m.Reload(OptionsFrom(get)); err != nil {
			log.Warn(err.Error())
			return ErrReconfigure
		}
		return nil
	}
	for _, name := range config.TLSOptions {
		_ = cfg.OnChange(name, reload)
	}
	_ = cfg.OnChange("tls-auth-clients", func(v string) error {
		m.SetAuthClients(ParseAuthMode(v))
		return nil
	})
	started = true
	return m, nil
}

// fileOptions are the options naming files; a relative path is relative
// to dir, as for redis-server.
var fileOptions = map[string]bool{
	"tls-cert-file": true, "tls-key-file": true, "tls-client-cert-file": true, "tls-client-key-file": true,
	"tls-dh-params-file": true, "tls-ca-cert-file": true, "tls-ca-cert-dir": true,
}

package node

import "github.com/skiffdb/skiff/config"

// rdb-key-save-delay is Redis's debugging knob that slows an RDB save down:
// a pause of that many microseconds after every key (negative -n: 1 µs
// with probability 1/n), used by tests that need a full sync or a BGSAVE
// to be in progress for a while. Redis's forked child sleeps; here the
// snapshot is encoded a key at a time while it is set, and the pause is
// taken with the data lock released, so clients are served meanwhile.

func init() {
	config.Register(config.Option{Name: "rdb-key-save-delay", Kind: config.KindInt, Default: "0",
		Min: -1 << 31, Max: 1<<31 - 1, Hidden: true})
}

func (s *Server) initSaveDelay() error {
	return s.cfg.OnChange("rdb-key-save-delay", func(v string) error {
		s.x.saveDelay.Store(atoi64(v))
		return nil
	})
}

// saveStepKeys is how many keys one snapshot step may encode: keys, or a
// single one while rdb-key-save-delay is set.
func (s *Server) saveStepKeys(keys int) int {
	if s.x.saveDelay.Load() != 0 {
		return 1
	}
	return keys
}

// saveStepPause takes rdb-key-save-delay for the keys a step encoded
// (a step may hand over a few more keys than asked: a hash bucket at a
// time); call it without the data lock.
func (s *Server) saveStepPause(keys int64) {
	d := s.x.saveDelay.Load()
	switch {
	case d == 0 || keys <= 0:
	case d > 0:
		sleepMicros(d * keys)
	default:
		for ; keys > 0; keys-- {
			loadDelay(d)
		}
	}
}

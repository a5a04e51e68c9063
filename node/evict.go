package node

// evictState is the maxmemory configuration and eviction bookkeeping.
type evictState struct {
	maxmemory int64
}

func (s *Server) initEvict() error {
	return s.cfg.OnChange("maxmemory", func(v string) error {
		s.x.evict.maxmemory = atoi64(v)
		s.updateGate()
		return nil
	})
}

// checkMemory is the maxmemory check before a command runs.
func (s *Server) checkMemory(c *Client, cmd *Command) bool { return true }

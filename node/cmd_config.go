package node

import (
	"errors"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/config"
)

func init() {
	config.Register(config.Option{Name: "maxmemory-clients", Kind: config.KindSpecial, Default: "0", Parse: parseMemoryOrPercent})
	register(&Command{Name: "config", Arity: -2, Group: "server", Since: "2.0.0", Summary: "A container for server configuration commands.", Complexity: "Depends on subcommand."})
	registerSub("config",
		&Command{Name: "get", Arity: -3, Flags: "admin noscript loading stale", Group: "server", Since: "2.0.0", Summary: "Returns the effective values of configuration parameters.", Complexity: "O(N) when N is the number of configuration parameters provided", Handler: cmdConfigGet},
		&Command{Name: "set", Arity: -4, Flags: "admin noscript loading stale", Group: "server", Since: "2.0.0", Summary: "Sets configuration parameters in-flight.", Complexity: "O(N) when N is the number of configuration parameters provided", Handler: cmdConfigSet},
		&Command{Name: "resetstat", Arity: 2, Flags: "admin noscript loading stale", Group: "server", Since: "2.0.0", Summary: "Resets the server's statistics.", Complexity: "O(1)", Handler: cmdConfigResetStat},
		&Command{Name: "rewrite", Arity: 2, Flags: "admin noscript loading stale", Group: "server", Since: "2.8.0", Summary: "Persists the effective configuration to file.", Complexity: "O(1)", Handler: cmdConfigRewrite},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "server", Since: "5.0.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", Handler: cmdConfigHelp},
	)
}

func cmdConfigGet(c *Client, args [][]byte) {
	var out []string
	seen := map[string]bool{}
	for _, a := range args[2:] {
		p := string(a)
		if !strings.ContainsAny(p, "[*?") {
			// An exact name is answered under the spelling the client used,
			// as Redis does.
			o := config.Lookup(p)
			if o == nil || seen[strings.ToLower(p)] {
				continue
			}
			seen[strings.ToLower(p)] = true
			out = append(out, p, c.srv.cfg.String(o.Name))
			continue
		}
		kv := c.srv.cfg.Get([]string{p})
		for i := 0; i+1 < len(kv); i += 2 {
			if seen[kv[i]] {
				continue
			}
			seen[kv[i]] = true
			out = append(out, kv[i], kv[i+1])
		}
	}
	c.w.AppendMap(len(out) / 2)
	for _, s := range out {
		c.w.AppendBulkString(s)
	}
}

// parseMemoryOrPercent accepts a memory value or a percentage of
// maxmemory ("10%"), as maxmemory-clients does.
func parseMemoryOrPercent(v string) (string, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return "", errors.New("argument must be a memory or percent value")
		}
		if n > 100 {
			return "", errors.New("percentage argument must be less or equal to 100")
		}
		return strconv.FormatInt(n, 10) + "%", nil
	}
	n, err := config.ParseMemory(v)
	if err != nil || n < 0 {
		return "", errors.New("argument must be a memory or percent value")
	}
	return strconv.FormatInt(n, 10), nil
}

// sameImmutable reports whether a CONFIG SET pair names an immutable
// option and gives it the value it already has. Such a pair is accepted
// as a no-op: clients that write back what CONFIG GET returned must not
// fail on Skiff's own immutable options (raft-port, admin-port ...).
// Changing an immutable option is still refused.
func (s *Server) sameImmutable(name, value string) bool {
	o := config.Lookup(name)
	if o == nil || !o.Immutable {
		return false
	}
	cur := s.cfg.String(o.Name)
	if o.Kind == config.KindString {
		return cur == value
	}
	return strings.EqualFold(cur, value)
}

func cmdConfigSet(c *Client, args [][]byte) {
	if len(args)%2 != 0 {
		c.replySyntax()
		return
	}
	pairs := make([]string, 0, len(args)-2)
	for i := 2; i+1 < len(args); i += 2 {
		name, value := string(args[i]), string(args[i+1])
		if c.srv.sameImmutable(name, value) {
			continue
		}
		pairs = append(pairs, name, value)
	}
	if len(pairs) == 0 {
		c.replyOK()
		return
	}
	if c.srv.ld.active && denyLoadingPair(pairs) {
		c.replyError(errLoading)
		return
	}
	if err := c.srv.cfg.SetPairsAs(pairs, c.protectedAllowed("enable-protected-configs")); err != nil {
		c.replyError(err.Error())
		return
	}
	c.replyOK()
}

func cmdConfigResetStat(c *Client, args [][]byte) {
	c.srv.resetStats()
	c.replyOK()
}

func cmdConfigRewrite(c *Client, args [][]byte) {
	if c.srv.cfg.File() == "" {
		c.replyError("ERR The server is running without a config file")
		return
	}
	if err := c.srv.cfg.Rewrite(); err != nil {
		c.srv.log.Warn("CONFIG REWRITE failed", "error", err)
		c.replyErrorf("ERR Rewriting config file: %s", err)
		return
	}
	c.srv.log.Info("CONFIG REWRITE executed with success")
	c.replyOK()
}

func cmdConfigHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	})
}

// denyLoadingPair reports whether CONFIG SET must answer -LOADING: Redis
// checks the pairs in order and stops at the first problem (an unknown,
// immutable or repeated name is reported as such by SetPairs); an option
// that cannot change during a load (dir, appendonly, repl-diskless-load)
// found first makes the whole command -LOADING.
func denyLoadingPair(pairs []string) bool {
	seen := map[*config.Option]bool{}
	for i := 0; i+1 < len(pairs); i += 2 {
		o := config.Lookup(pairs[i])
		if o == nil || o.Immutable || seen[o] {
			return false
		}
		if o.DenyLoading {
			return true
		}
		seen[o] = true
	}
	return false
}

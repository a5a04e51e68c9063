package sentinel

// sentinel.conf: loading the `sentinel ...` directives with redis-sentinel
// 7.0's rules and error texts, and rewriting the file the way its config
// rewrite does (docs/sentinel.md, "sentinel.conf").

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/skiffdb/skiff/config"
)

// Defaults of the global sentinel options (Redis's).
const (
	DefaultDenyScriptsReconfig = true
	DefaultResolveHostnames    = false
	DefaultAnnounceHostnames   = false
)

// NewConfig returns an empty configuration with Redis's defaults.
func NewConfig() *Config {
	return &Config{DenyScriptsReconfig: DefaultDenyScriptsReconfig}
}

// NewMyID returns a random sentinel id (40 lowercase hex characters).
func NewMyID() string {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// The directives Redis applies before the monitors, whatever their place
// in the file, so that they are in effect when the masters are created.
var preMonitorDirectives = map[string]bool{
	"announce-ip": true, "announce-port": true, "deny-scripts-reconfig": true,
	"sentinel-user": true, "sentinel-pass": true, "current-epoch": true,
	"myid": true, "resolve-hostnames": true, "announce-hostnames": true,
}

// ParseConfig builds a sentinel's configuration from its `sentinel`
// directives as redis-sentinel 7.0 loads them: the global options first,
// then the monitors, then the per-master options, each group in file
// order. An error is a *config.LineError naming the directive, with
// Redis's message. server (may be nil) is kept in Config.Server.
func ParseConfig(dirs []config.Directive, server *config.Config) (*Config, error) {
	c := NewConfig()
	c.Server = server
	var pre, mon, post []config.Directive
	for _, d := range dirs {
		if len(d.Args) == 0 {
			continue
		}
		switch name := strings.ToLower(d.Args[0]); {
		case name == "monitor":
			mon = append(mon, d)
		case preMonitorDirectives[name]:
			pre = append(pre, d)
		default:
			post = append(post, d)
		}
	}
	for _, list := range [][]config.Directive{pre, mon, post} {
		for _, d := range list {
			if msg := c.applyDirective(d.Args); msg != "" {
				return nil, d.Error(msg)
			}
		}
	}
	return c, nil
}

// FindMaster returns the block of a monitored master, or nil.
func (c *Config) FindMaster(name string) *MasterConfig {
	for _, m := range c.Masters {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// applyDirective applies one directive (without the leading "sentinel") and
// returns Redis's error text, or "".
func (c *Config) applyDirective(argv []string) string {
	const noMaster = "No such master with specified name."
	argc := len(argv)
	name := strings.ToLower(argv[0])
	master := func() *MasterConfig {
		if argc < 2 {
			return nil
		}
		return c.FindMaster(argv[1])
	}
	switch {
	case name == "monitor" && argc == 5:
		quorum := confAtoi(argv[4])
		if quorum <= 0 {
			return "Quorum must be 1 or greater."
		}
		host, msg := c.confCheckAddr(argv[2], confAtoi(argv[3]))
		if msg != "" {
			return msg
		}
		if c.FindMaster(argv[1]) != nil {
			return "Duplicate master name."
		}
		c.Masters = append(c.Masters, NewMasterConfig(argv[1], host, confAtoi(argv[3]), quorum))
	case name == "down-after-milliseconds" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.DownAfterMs = int64(confAtoi(argv[2]))
		if m.DownAfterMs <= 0 {
			return "negative or zero time parameter."
		}
	case name == "failover-timeout" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.FailoverTimeoutMs = int64(confAtoi(argv[2]))
		if m.FailoverTimeoutMs <= 0 {
			return "negative or zero time parameter."
		}
	case name == "parallel-syncs" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.ParallelSyncs = confAtoi(argv[2])
	case name == "notification-script" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		if !confExecutable(argv[2]) {
			return "Notification script seems non existing or non executable."
		}
		m.NotificationScript = argv[2]
	case name == "client-reconfig-script" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		if !confExecutable(argv[2]) {
			return "Client reconfiguration script seems non existing or non executable."
		}
		m.ClientReconfigScript = argv[2]
	case name == "auth-pass" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.AuthPass = argv[2]
	case name == "auth-user" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.AuthUser = argv[2]
	case name == "current-epoch" && argc == 2:
		if e := confStrtoull(argv[1]); e > c.CurrentEpoch {
			c.CurrentEpoch = e
		}
	case name == "myid" && argc == 2:
		if len(argv[1]) != 40 {
			return "Malformed Sentinel id in myid option."
		}
		c.MyID = argv[1]
	case name == "config-epoch" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.ConfigEpoch = confStrtoull(argv[2])
		if m.ConfigEpoch > c.CurrentEpoch {
			c.CurrentEpoch = m.ConfigEpoch
		}
	case name == "leader-epoch" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.LeaderEpoch = confStrtoull(argv[2])
	case (name == "known-replica" || name == "known-slave") && argc == 4:
		m := master()
		if m == nil {
			return noMaster
		}
		port := confAtoi(argv[3])
		host, msg := c.confCheckAddr(argv[2], port)
		if msg != "" {
			return msg
		}
		addr := confJoinHostPort(host, port)
		for _, r := range m.KnownReplicas {
			if r == addr {
				return "Duplicate hostname and port for replica."
			}
		}
		m.KnownReplicas = append(m.KnownReplicas, addr)
	case name == "known-sentinel" && (argc == 4 || argc == 5):
		if argc == 4 {
			return "" // the old form without a run id is ignored
		}
		m := master()
		if m == nil {
			return noMaster
		}
		port := confAtoi(argv[3])
		host, msg := c.confCheckAddr(argv[2], port)
		if msg != "" {
			return msg
		}
		for _, s := range m.KnownSentinels {
			if s.RunID == argv[4] {
				return "Duplicate runid for sentinel."
			}
		}
		m.KnownSentinels = append(m.KnownSentinels, KnownSentinel{Host: host, Port: port, RunID: argv[4]})
	case name == "rename-command" && argc == 4:
		m := master()
		if m == nil {
			return noMaster
		}
		for _, rc := range m.RenameCommands {
			if strings.EqualFold(rc[0], argv[2]) {
				return "Same command renamed multiple times with rename-command."
			}
		}
		m.RenameCommands = append(m.RenameCommands, [2]string{argv[2], argv[3]})
	case name == "announce-ip" && argc == 2:
		if argv[1] != "" {
			c.AnnounceIP = argv[1]
		}
	case name == "announce-port" && argc == 2:
		c.AnnouncePort = confAtoi(argv[1])
	case name == "deny-scripts-reconfig" && argc == 2:
		v, ok := confYesNo(argv[1])
		if !ok {
			return "Please specify yes or no for the deny-scripts-reconfig options."
		}
		c.DenyScriptsReconfig = v
	case name == "sentinel-user" && argc == 2:
		if argv[1] != "" {
			c.SentinelUser = argv[1]
		}
	case name == "sentinel-pass" && argc == 2:
		if argv[1] != "" {
			c.SentinelPass = argv[1]
		}
	case name == "resolve-hostnames" && argc == 2:
		v, ok := confYesNo(argv[1])
		if !ok {
			return "Please specify yes or no for the resolve-hostnames option."
		}
		c.ResolveHostnames = v
	case name == "announce-hostnames" && argc == 2:
		v, ok := confYesNo(argv[1])
		if !ok {
			return "Please specify yes or no for the announce-hostnames option."
		}
		c.AnnounceHostnames = v
	case name == "master-reboot-down-after-period" && argc == 3:
		m := master()
		if m == nil {
			return noMaster
		}
		m.MasterRebootDownAfterMs = int64(confAtoi(argv[2]))
		if m.MasterRebootDownAfterMs < 0 {
			return "negative time parameter."
		}
	default:
		return "Unrecognized sentinel configuration statement."
	}
	return ""
}

// confCheckAddr validates an instance address as Redis does when it creates
// the instance: the port must be 0..65535, and the host an IP address
// unless resolve-hostnames is on (then a name that does not resolve is
// accepted too, and resolved later). An IP is returned in its canonical
// form.
func (c *Config) confCheckAddr(host string, port int) (string, string) {
	if port < 0 || port > 65535 {
		return "", "Invalid port number."
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), ""
	}
	if !c.ResolveHostnames {
		return "", "Can't resolve instance hostname."
	}
	return host, ""
}

func confJoinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func confYesNo(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

func confExecutable(path string) bool {
	return syscall.Access(path, 1 /* X_OK */) == nil
}

// atoi is C's atoi as glibc implements it: leading blanks, an optional
// sign, the digits up to the first non-digit (0 if none), saturated to a
// long and then truncated to an int.
func confAtoi(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var n uint64
	over := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (math.MaxUint64-9)/10 {
			over = true
		}
		n = n*10 + uint64(s[i]-'0')
	}
	var v int64
	switch {
	case !neg && (over || n > math.MaxInt64):
		v = math.MaxInt64
	case neg && (over || n > 1<<63):
		v = math.MinInt64
	case neg:
		v = -int64(n)
	default:
		v = int64(n)
	}
	return int(int32(v))
}

// strtoull is C's confStrtoull(s, NULL, 10): saturating, and a leading minus
// negates modulo 2^64.
func confStrtoull(s string) uint64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n uint64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return math.MaxUint64
		}
		n = n*10 + d
	}
	if neg {
		return -n
	}
	return n
}

// ------------------------------------------------------------------ rewrite

const rewriteSignature = "# Generated by CONFIG REWRITE"

// rewriteState is the old file as lines, plus where each option was
// mentioned, following Redis's config rewrite: an option's new lines take
// the places of its old ones in order, extra new lines go at the end
// under the signature comment, and old lines of a rewritten option that
// were not reused become blank.
type rewriteState struct {
	lines     []string
	where     map[string][]int // option key -> indexes of its unused old lines
	processed map[string]bool
	needSig   bool
}

func readRewriteState(path string) (*rewriteState, error) {
	st := &rewriteState{where: map[string][]int{}, processed: map[string]bool{}, needSig: true}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, nil
		}
		return nil, err
	}
	if len(data) == 0 {
		return st, nil
	}
	for _, raw := range strings.Split(string(data), "\n") {
		line := strings.Trim(raw, "\r\n\t ")
		if line == "" || line[0] == '#' {
			if line == rewriteSignature {
				st.needSig = false
			}
			st.lines = append(st.lines, line)
			continue
		}
		argv, ok := config.SplitArgs(line)
		if !ok || len(argv) == 0 {
			st.lines = append(st.lines, "# ??? "+line)
			continue
		}
		key := strings.ToLower(argv[0])
		if o := config.Lookup(key); o != nil {
			key = o.Name
		} else {
			switch key {
			case "include", "rename-command", "user", "loadmodule", "sentinel":
			default:
				st.lines = append(st.lines, "# ??? "+line)
				continue
			}
		}
		if key == "sentinel" && len(argv) > 1 {
			sub := strings.ToLower(argv[1])
			if sub == "known-slave" {
				// Redis leaves these lines in place and writes known-replica
				// lines besides, which then fail to load as duplicates;
				// Skiff replaces them.
				sub = "known-replica"
			}
			key = "sentinel " + sub
		}
		st.where[key] = append(st.where[key], len(st.lines))
		st.lines = append(st.lines, line)
	}
	return st, nil
}

func (st *rewriteState) mark(key string) { st.processed[key] = true }

// rewrite puts line in the place of the next unused old line of key, or
// appends it when there is none and force is set.
func (st *rewriteState) rewrite(key, line string, force bool) {
	st.mark(key)
	old := st.where[key]
	if len(old) > 0 {
		st.lines[old[0]] = line
		st.where[key] = old[1:]
		return
	}
	if !force {
		return
	}
	if st.needSig {
		st.lines = append(st.lines, rewriteSignature)
		st.needSig = false
	}
	st.lines = append(st.lines, line)
}

// content blanks the unused old lines of rewritten options and joins the
// lines, squeezing each run of blank lines into one.
func (st *rewriteState) content() string {
	for key, idx := range st.where {
		if !st.processed[key] {
			continue
		}
		for _, i := range idx {
			st.lines[i] = ""
		}
	}
	var b strings.Builder
	blank := false
	for _, l := range st.lines {
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// RewriteFile rewrites sentinel.conf at path from c, as redis-sentinel
// 7.0's config rewrite does: comments and unknown lines stay where they
// are, each option's lines replace its old lines in order, new lines go
// at the end under "# Generated by CONFIG REWRITE", per-master options at
// their defaults are left out, and the old lines of options that are no
// longer written become blank. The other options (c.Server) are rewritten
// the same way, `dir` as the absolute working directory and `save` not at
// all. The new file is written to a temporary file, fsynced, and renamed
// over the old one; the directory is fsynced too.
//
// Where Skiff differs: values that need quoting (spaces, quotes, control
// characters, empty) are quoted so that the file loads again, and
// known-slave lines are replaced by known-replica lines.
func RewriteFile(path string, c *Config) error {
	st, err := readRewriteState(path)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	if c.Server != nil {
		rewriteServerOptions(st, c.Server)
	}
	rewriteSentinelOptions(st, c)
	return confWriteFileAtomic(path, st.content())
}

func rewriteServerOptions(st *rewriteState, sc *config.Config) {
	for _, o := range config.All() {
		v := sc.String(o.Name)
		switch o.Name {
		case "save":
			// A sentinel does not save: Redis drops these lines.
			st.mark(o.Name)
			continue
		case "dir":
			if wd, err := os.Getwd(); err == nil {
				st.rewrite(o.Name, o.Name+" "+confRepr(wd), true)
			} else {
				st.mark(o.Name)
			}
			continue
		}
		var val string
		switch o.Kind {
		case config.KindString:
			val = confRepr(v)
		case config.KindMemory:
			val = confFormatMemory(o.Name, v)
		default:
			val = v
		}
		st.rewrite(o.Name, o.Name+" "+val, v != o.Default)
	}
}

// formatMemory writes byte counts with Redis's units (gb, mb, kb); counts
// of entries stay plain numbers.
func confFormatMemory(name, v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 || strings.HasSuffix(name, "-entries") || strings.HasSuffix(name, "-value") {
		return v
	}
	for _, u := range []struct {
		suf string
		m   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}} {
		if n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.suf
		}
	}
	return v
}

func rewriteSentinelOptions(st *rewriteState, c *Config) {
	line := func(words ...string) string {
		for i, w := range words {
			words[i] = confWord(w)
		}
		return "sentinel " + strings.Join(words, " ")
	}
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	itoa := strconv.Itoa

	st.rewrite("sentinel myid", line("myid", c.MyID), true)
	st.rewrite("sentinel deny-scripts-reconfig", line("deny-scripts-reconfig", yn(c.DenyScriptsReconfig)),
		c.DenyScriptsReconfig != DefaultDenyScriptsReconfig)
	st.rewrite("sentinel resolve-hostnames", line("resolve-hostnames", yn(c.ResolveHostnames)),
		c.ResolveHostnames != DefaultResolveHostnames)
	st.rewrite("sentinel announce-hostnames", line("announce-hostnames", yn(c.AnnounceHostnames)),
		c.AnnounceHostnames != DefaultAnnounceHostnames)
	for _, m := range c.Masters {
		st.rewrite("sentinel monitor", line("monitor", m.Name, m.Host, itoa(m.Port), itoa(m.Quorum)), true)
		if m.DownAfterMs != DefaultDownAfterMs {
			st.rewrite("sentinel down-after-milliseconds", line("down-after-milliseconds", m.Name, i64(m.DownAfterMs)), true)
		}
		if m.FailoverTimeoutMs != DefaultFailoverTimeoutMs {
			st.rewrite("sentinel failover-timeout", line("failover-timeout", m.Name, i64(m.FailoverTimeoutMs)), true)
		}
		if m.ParallelSyncs != DefaultParallelSyncs {
			st.rewrite("sentinel parallel-syncs", line("parallel-syncs", m.Name, itoa(m.ParallelSyncs)), true)
		}
		if m.NotificationScript != "" {
			st.rewrite("sentinel notification-script", line("notification-script", m.Name, m.NotificationScript), true)
		}
		if m.ClientReconfigScript != "" {
			st.rewrite("sentinel client-reconfig-script", line("client-reconfig-script", m.Name, m.ClientReconfigScript), true)
		}
		if m.AuthPass != "" {
			st.rewrite("sentinel auth-pass", line("auth-pass", m.Name, m.AuthPass), true)
		}
		if m.AuthUser != "" {
			st.rewrite("sentinel auth-user", line("auth-user", m.Name, m.AuthUser), true)
		}
		if m.MasterRebootDownAfterMs != 0 {
			st.rewrite("sentinel master-reboot-down-after-period",
				line("master-reboot-down-after-period", m.Name, i64(m.MasterRebootDownAfterMs)), true)
		}
		st.rewrite("sentinel config-epoch", line("config-epoch", m.Name, u(m.ConfigEpoch)), true)
		st.rewrite("sentinel leader-epoch", line("leader-epoch", m.Name, u(m.LeaderEpoch)), true)
		for _, r := range m.KnownReplicas {
			host, port, err := net.SplitHostPort(r)
			if err != nil {
				continue
			}
			st.rewrite("sentinel known-replica", line("known-replica", m.Name, host, port), true)
		}
		for _, s := range m.KnownSentinels {
			if s.RunID == "" {
				continue
			}
			st.rewrite("sentinel known-sentinel", line("known-sentinel", m.Name, s.Host, itoa(s.Port), s.RunID), true)
		}
		for _, rc := range m.RenameCommands {
			st.rewrite("sentinel rename-command", line("rename-command", m.Name, rc[0], rc[1]), true)
		}
	}
	st.rewrite("sentinel current-epoch", line("current-epoch", u(c.CurrentEpoch)), true)
	if c.AnnounceIP != "" {
		st.rewrite("sentinel announce-ip", "sentinel announce-ip "+confRepr(c.AnnounceIP), true)
	} else {
		st.mark("sentinel announce-ip")
	}
	if c.AnnouncePort != 0 {
		st.rewrite("sentinel announce-port", line("announce-port", itoa(c.AnnouncePort)), true)
	} else {
		st.mark("sentinel announce-port")
	}
	if c.SentinelUser != "" {
		st.rewrite("sentinel sentinel-user", line("sentinel-user", c.SentinelUser), true)
	} else {
		st.mark("sentinel sentinel-user")
	}
	if c.SentinelPass != "" {
		st.rewrite("sentinel sentinel-pass", line("sentinel-pass", c.SentinelPass), true)
	} else {
		st.mark("sentinel sentinel-pass")
	}
	// Old lines of per-master options no longer written (a removed
	// master, a value back to its default) become blank.
	for _, k := range []string{"monitor", "down-after-milliseconds", "failover-timeout", "parallel-syncs",
		"notification-script", "client-reconfig-script", "auth-pass", "auth-user", "config-epoch",
		"leader-epoch", "known-replica", "known-sentinel", "rename-command", "master-reboot-down-after-period"} {
		st.mark("sentinel " + k)
	}
}

// word returns s as a config word: unchanged when it needs no quoting
// (as Redis writes these values), else quoted as repr does.
func confWord(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 127 || c == '"' || c == '\'' || c == '\\' {
			return confRepr(s)
		}
	}
	return s
}

// repr quotes s the way Redis's sdscatrepr does.
func confRepr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c >= ' ' && c < 127 {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeFileAtomic replaces path with content: a temporary file next to
// it, fsync, mode 0644, rename, fsync of the directory.
func confWriteFileAtomic(path, content string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("rewrite %s: could not create tmp config file: %w", path, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.WriteString(content); err != nil {
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("rewrite %s: could not sync tmp config file: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("rewrite %s: could not chmod config file: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rewrite %s: could not rename tmp config file: %w", path, err)
	}
	ok = true
	tmp.Close()
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("rewrite %s: could not sync config file dir: %w", path, err)
		}
	}
	return nil
}

// CheckConfigFile refuses to run a sentinel without a writable config
// file, with redis-sentinel's messages.
func CheckConfigFile(path string) error {
	if path == "" {
		return errors.New("Sentinel needs config file on disk to save state. Exiting...")
	}
	if err := syscall.Access(path, 2 /* W_OK */); err != nil {
		return fmt.Errorf("Sentinel config file %s is not writable: %s. Exiting...", path, confErrnoText(err))
	}
	return nil
}

// errnoText is strerror's text ("Permission denied").
func confErrnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		s := en.Error()
		if s != "" {
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return err.Error()
}

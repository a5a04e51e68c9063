package node

// The append-only file in Redis 7.0's multi-part form: a directory
// (appenddirname) holding a base file (an RDB, or commands), incremental
// files of commands, and a manifest naming them. Commands are buffered
// under the data lock and written by one writer goroutine; with
// appendfsync always a connection does not send its replies before the
// writer has fsynced past its writes (group commit across connections).
// BGREWRITEAOF switches writes to a new incremental file and writes a new
// base from a store.Snapshot taken at the same moment, then commits a new
// manifest.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/replication"
	"github.com/skiffdb/skiff/script"
	"github.com/skiffdb/skiff/store"
)

const (
	fsyncNo = iota
	fsyncAlways
	fsyncEverysec
)

// aofFile is one line of the manifest.
type aofFile struct {
	name string
	seq  int64
	typ  byte // 'b' base, 'h' history, 'i' incremental
}

type aofManifest struct {
	base *aofFile
	hist []aofFile
	incr []aofFile
}

// aofChunk is a unit of the writer's queue: bytes for the current file,
// or a switch to a new incremental file.
type aofChunk struct {
	data   []byte
	rotate *os.File
}

// aofState is guarded by the data lock except where noted.
type aofState struct {
	on      bool // appending (appendonly yes and started)
	loading bool // replaying the AOF: feed nothing
	fsync   atomic.Int32
	dir     string
	name    string // appendfilename
	man     aofManifest

	buf    []byte
	queue  []aofChunk
	selDB  int
	fedOff int64 // bytes handed to the writer since start

	curSize  int64 // aof_current_size: base + incremental files
	baseSize int64 // aof_base_size: size after the last rewrite

	writeErr         string
	rewriteScheduled bool
	// waitRewrite: turned on at run time, the first rewrite has not
	// finished, so the files do not hold the dataset (Redis's
	// AOF_WAIT_REWRITE: a shutdown then refuses to exit)
	waitRewrite     bool
	lastRewriteDur  int64
	lastRewriteOK   bool
	rewrites        int64
	rewriteFailures int64
	lastCow         int64

	// Writer side. syncedOff is what is durable under appendfsync always
	// (written, for the other policies); mu/cond wake waiters.
	mu        sync.Mutex
	cond      *sync.Cond
	syncedOff atomic.Int64
	kick      chan struct{}
	stop      chan struct{}
	stopped   chan struct{}
	srv       *Server
}

// aofRewrite is the AOF side of a rewrite job.
type aofRewrite struct {
	baseName string
	baseSeq  int64
	incr     aofFile // the incremental file opened at the rewrite's start
}

func (a *aofState) init(s *Server) {
	a.srv = s
	a.cond = sync.NewCond(&a.mu)
	a.lastRewriteOK = true
	a.lastRewriteDur = -1
	a.selDB = -1
}

func init() {
	register(&Command{Name: "bgrewriteaof", Arity: 1, Flags: "admin noscript no_async_loading", Group: "server", Since: "1.0.0", Summary: "Asynchronously rewrites the append-only file to disk.", Complexity: "O(1)", Handler: cmdBgrewriteaof})
}

// initAOF reads the AOF options. It runs from New; with appendonly yes
// Load replays the AOF and starts appending (loadAOFAtStart).
func (s *Server) initAOF() error {
	a := &s.p.aof
	a.name = s.cfg.String("appendfilename")
	a.dir = filepath.Join(s.cfg.String("dir"), s.cfg.String("appenddirname"))
	started := false
	if err := s.cfg.OnChange("appendfsync", func(v string) error {
		switch v {
		case "always":
			a.fsync.Store(fsyncAlways)
		case "no":
			a.fsync.Store(fsyncNo)
		default:
			a.fsync.Store(fsyncEverysec)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("config appendfsync: %w", err)
	}
	if err := s.cfg.OnChange("appendonly", func(v string) error {
		if !started {
			return nil // start-up decides below
		}
		if v == "yes" && !a.on {
			if err := s.startAOF(); err != nil {
				return err
			}
			a.waitRewrite = true
			return nil
		}
		if v == "no" && a.on {
			s.stopAOF()
		}
		return nil
	}); err != nil {
		return fmt.Errorf("config appendonly: %w", err)
	}
	started = true
	return nil
}

// loadAOFAtStart is Load with appendonly yes: replay the AOF, then append
// to it. Clients are accepted during the replay (with -LOADING, see
// loading.go), or once appending has started when there is nothing to
// replay. CONFIG SET appendonly and dir are refused while loading, so
// nothing changes the AOF state under the loader.
func (s *Server) loadAOFAtStart() error {
	if err := os.MkdirAll(s.p.aof.dir, 0o755); err != nil {
		return fmt.Errorf("create AOF directory: %w", err)
	}
	// Held from the end of the replay until appending has started: no
	// client sees the AOF on while still loading.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadAOFLocked(); err != nil {
		return err
	}
	if err := s.openAOFLocked(true); err != nil {
		return err
	}
	s.stopLoadingLocked()
	return nil
}

// ---- manifest ----

func (a *aofState) manifestPath() string { return filepath.Join(a.dir, a.name+".manifest") }

func (a *aofState) incrName(seq int64) string { return fmt.Sprintf("%s.%d.incr.aof", a.name, seq) }

func (a *aofState) baseName(seq int64) string { return fmt.Sprintf("%s.%d.base.rdb", a.name, seq) }

// readManifest reads the manifest; a missing one is not an error (ok
// false). A refused manifest is logged in Redis's words and returned as a
// LoadErrorLogged: the server does not start.
func (s *Server) readManifest(path string) (m aofManifest, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		s.log.Warn(fmt.Sprintf("Fatal error: can't open the AOF manifest file %s for reading: %s", path, errText(err)))
		return m, false, &LoadErrorLogged{fmt.Errorf("read AOF manifest: %w", err)}
	}
	m, merr := parseManifest(data)
	if merr != nil {
		s.log.Warn("*** FATAL AOF MANIFEST FILE ERROR ***")
		if merr.hasLine {
			s.log.Warn(fmt.Sprintf("Reading the manifest file, at line %d", merr.lineNum))
			s.log.Warn(fmt.Sprintf(">>> '%s'", merr.line))
		}
		s.log.Warn(merr.msg)
		return m, false, &LoadErrorLogged{fmt.Errorf("%s: %w", path, merr)}
	}
	return m, true, nil
}

// writeManifest replaces the manifest atomically.
func (a *aofState) writeManifest(m aofManifest) error {
	tmp := filepath.Join(a.dir, "temp-"+a.name+".manifest")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", tmp, err)
	}
	if _, err := f.Write(m.format()); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	t0 := monoNow()
	if err := commitFile(f, tmp, a.manifestPath()); err != nil {
		os.Remove(tmp)
		return err
	}
	// Switching the manifest is the atomic rename of a rewrite (or of
	// a new incremental file): Redis's aof-rename event (latency.go).
	if a.srv != nil {
		a.srv.latencySample("aof-rename", monoNow()-t0)
	}
	a.man = m
	return nil
}

func (m *aofManifest) nextIncrSeq() int64 {
	var seq int64
	for _, f := range m.incr {
		seq = max(seq, f.seq)
	}
	for _, f := range m.hist {
		if f.typ == 'i' {
			seq = max(seq, f.seq)
		}
	}
	return seq + 1
}

// ---- loading ----

// loadAOFLocked replays the files of the manifest into the keyspace. A
// missing directory or manifest means an empty dataset, as in Redis.
// With files to replay the server enters the loading state (left for the
// caller to end once appending has started) and starts accepting
// clients; the replay holds the data lock but lets clients in at every
// progress report. Called under the lock.
func (s *Server) loadAOFLocked() error {
	a := &s.p.aof
	m, _, err := s.readManifest(a.manifestPath())
	if err != nil {
		return err
	}
	a.man = m
	if m, err = s.upgradeOldAOF(m); err != nil {
		return err
	}
	if m.base == nil && len(m.incr) == 0 {
		return nil // no AOF yet: an empty dataset
	}
	var files []string
	if m.base != nil {
		files = append(files, m.base.name)
	}
	for _, f := range m.incr {
		files = append(files, f.name)
	}
	var total int64
	for _, name := range files {
		st, err := os.Stat(filepath.Join(a.dir, name))
		if err != nil {
			// A file the manifest names must be there: Redis's line,
			// which names the file and the cause, then the server stops.
			s.log.Warn(fmt.Sprintf("Unable to obtain the AOF file %s length. stat: %s", name, errText(err)))
			return &LoadErrorLogged{fmt.Errorf("AOF file %s named by the manifest: %w", name, err)}
		}
		total += st.Size()
	}
	if total == 0 {
		return nil // only empty files: nothing to load, as Redis's AOF_EMPTY
	}
	s.startLoadingLocked(total, false)
	s.acceptIfListening()
	a.loading = true
	defer func() { a.loading = false }()
	p := s.newLoadProgress(true, nil)
	p.logProgress("loading AOF", total)
	start := time.Now()
	// INFO shows the sizes once the load is over, as Redis.
	var baseSize int64
	if m.base != nil {
		n, err := s.loadAOFFile(m.base.name, false, p)
		if err != nil {
			return err
		}
		baseSize = n
		p.base, p.last = p.base+n, 0
	}
	for i, f := range m.incr {
		n, err := s.loadAOFFile(f.name, i == len(m.incr)-1, p)
		if err != nil {
			return err
		}
		p.base, p.last = p.base+n, 0
	}
	a.baseSize, a.curSize = baseSize, p.base
	p.finishLocked(0)
	s.dirty = 0
	s.log.Info("DB loaded from append only file", "seconds", time.Since(start).Seconds())
	return nil
}

// upgradeOldAOF adopts the single appendonly file of a Redis before 7.0,
// found in the server's directory, as the base of a multi-part AOF, as
// Redis does: when there is no manifest (or an empty one), or when an
// upgrade was interrupted after writing the manifest (it names only that
// file as the base, and the file is not in the AOF directory yet). The
// manifest is written first and the file moved after, so an interruption
// at any point is resumed by the next start. Called under the lock.
func (s *Server) upgradeOldAOF(m aofManifest) (aofManifest, error) {
	a := &s.p.aof
	old := filepath.Join(filepath.Dir(a.dir), a.name)
	if !isRegularFile(old) {
		return m, nil // nothing to upgrade
	}
	// Already moved when the AOF directory holds it: the file left in the
	// server directory is then not ours to take (the directory's copy is
	// the one to load).
	interrupted := m.base != nil && len(m.incr) == 0 && m.base.name == a.name &&
		!isRegularFile(filepath.Join(a.dir, a.name))
	if !(m.base == nil && len(m.incr) == 0) && !interrupted {
		return m, nil
	}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		s.log.Warn(fmt.Sprintf("Can't open or create append-only dir %s: %s", a.dir, errText(err)))
		return m, &LoadErrorLogged{fmt.Errorf("create AOF directory: %w", err)}
	}
	m.base = &aofFile{name: a.name, seq: 1, typ: 'b'}
	if err := a.writeManifest(m); err != nil {
		s.log.Warn("Can't persist the AOF manifest", "error", err)
		return m, &LoadErrorLogged{err}
	}
	if err := os.Rename(old, filepath.Join(a.dir, a.name)); err != nil {
		s.log.Warn(fmt.Sprintf("Error trying to move the old AOF file %s into dir %s: %s", a.name, filepath.Base(a.dir), errText(err)))
		return m, &LoadErrorLogged{fmt.Errorf("move the old AOF file: %w", err)}
	}
	if err := syncDir(a.dir); err != nil {
		return m, fmt.Errorf("sync AOF directory: %w", err)
	}
	s.log.Info(fmt.Sprintf("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", a.name, filepath.Base(a.dir)))
	return m, nil
}

func isRegularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// loadAOFFile replays one file (an RDB base or a command file) and
// returns its size. A truncated tail of the last file is cut off when
// aof-load-truncated allows it. p follows the replay (key-load-delay,
// progress, abort on shutdown).
func (s *Server) loadAOFFile(name string, last bool, p *loadProgress) (int64, error) {
	path := filepath.Join(s.p.aof.dir, name)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open AOF file %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat AOF file %s: %w", path, err)
	}
	if st.Size() == 0 {
		return 0, nil
	}
	fr := &countingReader{r: f}
	br := bufio.NewReaderSize(fr, 64<<10)
	// Offset of the commands: after the RDB preamble of a file that has
	// one (a base, or an appendonly.aof of Redis before 7.0 with
	// aof-use-rdb-preamble), which may be followed by commands.
	var cmdStart int64
	if magic, _ := br.Peek(5); string(magic) == "REDIS" {
		load := func(db int, key string, obj *store.Object) error {
			p.keys.Add(1)
			return s.loadEntry(db, key, obj)
		}
		var codes [][]byte
		hooks := rdb.Hooks{Aux: p.aux, Entry: p.entry, Function: collectFunction(&codes)}
		if _, err := rdb.LoadHooks(br, s.rdbLimits(), hooks, load); err != nil {
			if errors.Is(err, ErrLoadAborted) {
				return 0, err
			}
			return 0, fmt.Errorf("load AOF base %s: %w", path, err)
		}
		// The base's libraries, before the increments replay their
		// FUNCTION commands.
		if err := s.installFunctions(codes, script.RestoreFlush); err != nil {
			return 0, fmt.Errorf("load AOF base %s: %w", path, err)
		}
		// The RDB reader reads through br without buffering of its
		// own (its size is enough), so what br holds is the tail.
		cmdStart = fr.n - int64(br.Buffered())
		if cmdStart >= st.Size() {
			return st.Size(), nil
		}
	}
	valid, err := s.replayCommands(br, p)
	valid += cmdStart
	if errors.Is(err, ErrLoadAborted) {
		return 0, err
	}
	if err == nil {
		return st.Size(), nil
	}
	// Redis's words, the last line before the process exits (its suite
	// and operators look for them).
	var trunc *aofTruncated
	var bad *aofBadFormat
	var unknown *aofUnknownCommand
	switch {
	case errors.As(err, &unknown):
		s.log.Warn(fmt.Sprintf("Unknown command '%s' reading the append only file %s", unknown.name, name))
		return 0, &LoadErrorLogged{fmt.Errorf("load AOF file %s: %w", path, err)}
	case errors.As(err, &bad):
		s.log.Warn(fmt.Sprintf("Bad file format reading the append only file %s: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", name))
		return 0, &LoadErrorLogged{fmt.Errorf("load AOF file %s: %w", path, err)}
	case !errors.As(err, &trunc):
		return 0, fmt.Errorf("load AOF file %s: %w", path, err)
	}
	if !s.cfg.Bool("aof-load-truncated") {
		s.log.Warn(fmt.Sprintf("Unexpected end of file reading the append only file %s. You can: "+
			"1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. "+
			"2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.", name))
		return 0, &LoadErrorLogged{fmt.Errorf("AOF file %s is truncated at offset %d (%s)", path, valid, trunc.why)}
	}
	if !last {
		s.log.Warn("Fatal error: the truncated file is not the last file")
		return 0, &LoadErrorLogged{fmt.Errorf("AOF file %s is truncated at offset %d (%s) and is not the last file", path, valid, trunc.why)}
	}
	s.log.Warn(fmt.Sprintf("!!! Warning: short read while loading the AOF file %s!!!", name))
	s.log.Warn(fmt.Sprintf("!!! Truncating the AOF %s at offset %d !!!", name, valid))
	if err := os.Truncate(path, valid); err != nil {
		return 0, fmt.Errorf("truncate AOF file %s: %w", path, err)
	}
	s.log.Warn(fmt.Sprintf("AOF %s loaded anyway because aof-load-truncated is enabled", name))
	return valid, nil
}

// loadEntry stores one key of an RDB base.
func (s *Server) loadEntry(db int, key string, obj *store.Object) error {
	if db < 0 || db >= len(s.store.DBs) {
		return fmt.Errorf("key in database %d, only %d configured", db, len(s.store.DBs))
	}
	d := s.store.DBs[db]
	exp := obj.Expire
	e := d.SetValue([]byte(key), *obj, false)
	if exp != 0 {
		d.SetExpire(e, exp)
	}
	return nil
}

// LoadErrorLogged is a load failure whose cause was logged already, in
// Redis's words: the process exits without another line.
type LoadErrorLogged struct{ Err error }

func (e *LoadErrorLogged) Error() string { return e.Err.Error() }
func (e *LoadErrorLogged) Unwrap() error { return e.Err }

type aofBadFormat struct{ err error }

func (e *aofBadFormat) Error() string { return "bad file format: " + e.err.Error() }

type aofUnknownCommand struct{ name string }

func (e *aofUnknownCommand) Error() string { return "unknown command '" + e.name + "'" }

type aofTruncated struct{ why string }

func (t *aofTruncated) Error() string { return "truncated AOF: " + t.why }

// countingReader tracks how many bytes the parser has pulled.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// replayCommands runs every command of r through the dispatcher as a
// fake client. It returns the offset after the last complete command (or
// before an unfinished MULTI) and an *aofTruncated error for an
// incomplete tail. Called under the lock; p (when set) may release it
// between commands.
func (s *Server) replayCommands(r io.Reader, lp *loadProgress) (valid int64, err error) {
	cr := &countingReader{r: r}
	p := resp.NewParser(cr)
	p.MaxBulk = 1 << 40
	p.NoInline = true
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	// As Redis while loading: nothing expires, an expire in the past
	// sets the TTL, and commands see expired keys as live (a PEXPIREAT
	// followed by an RPUSH rebuilds the key as it was, and it expires
	// once the load is over).
	st := s.store
	prevNoLazy, prevView := st.NoLazyExpire, st.MasterView
	st.NoLazyExpire, st.MasterView = true, true
	defer func() { st.NoLazyExpire, st.MasterView = prevNoLazy, prevView }()
	c := s.newClient(a)
	c.flags |= clientMaster
	c.authed = true
	c.batchWall = time.Now()
	c.batchMono = monoNow()
	inMulti := false
	var multiStart int64
	for {
		args, perr := p.Next()
		if perr != nil {
			return valid, &aofBadFormat{fmt.Errorf("at offset %d: %w", cr.n-int64(p.Buffered()), perr)}
		}
		if args == nil {
			ferr := p.Fill()
			if ferr == nil {
				continue
			}
			if !errors.Is(ferr, io.EOF) {
				return valid, fmt.Errorf("read: %w", ferr)
			}
			if p.Buffered() > 0 {
				if _, perr := p.Next(); perr != nil {
					return valid, &aofBadFormat{perr}
				}
				return valid, &aofTruncated{"unexpected end of file"}
			}
			if inMulti {
				return multiStart, &aofTruncated{"unfinished MULTI/EXEC transaction"}
			}
			return valid, nil
		}
		off := cr.n - int64(p.Buffered())
		if len(args[0]) > 0 && args[0][0] == '#' {
			valid = off // annotation (aof-timestamp-enabled)
			continue
		}
		switch {
		case eqFold(args[0], "multi"):
			inMulti = true
			multiStart = valid
		case eqFold(args[0], "exec"):
			inMulti = false
		}
		if c.lookupCommand(args[0]) == nil {
			return valid, &aofUnknownCommand{string(args[0])}
		}
		s.call(c, args)
		c.w.B = c.w.B[:0]
		valid = off
		if lp != nil {
			if err := lp.command(off); err != nil {
				return valid, err
			}
		}
	}
}

// ---- appending ----

// openAOFLocked starts appending after the AOF was loaded (under the
// lock). At server start it does what Redis does: with no file at all it
// writes a base of the (empty) dataset at once, then opens the last
// incremental file of the manifest or, when there is none, creates the
// next one, and commits the manifest; a rewrite is not needed. After
// DEBUG LOADAOF (atStart false) a manifest without incremental files
// starts appending as CONFIG SET appendonly yes does.
func (s *Server) openAOFLocked(atStart bool) error {
	a := &s.p.aof
	if !atStart && len(a.man.incr) == 0 {
		return s.startAOF()
	}
	m := a.man
	wroteBase := false
	if m.base == nil && len(m.incr) == 0 {
		wroteBase = true
		name, err := s.writeStartBase()
		if err != nil {
			s.log.Warn("Can't create the AOF base file on server start", "error", err)
			return &LoadErrorLogged{err}
		}
		m.base = &aofFile{name: name, seq: 1, typ: 'b'}
		s.log.Info("Creating AOF base file " + name + " on server start")
	}
	opened := len(m.incr) > 0
	if !opened {
		seq := m.nextIncrSeq()
		m.incr = []aofFile{{name: a.incrName(seq), seq: seq, typ: 'i'}}
	}
	last := m.incr[len(m.incr)-1]
	path := filepath.Join(a.dir, last.name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.log.Warn(fmt.Sprintf("Can't open the append-only file %s: %s", last.name, errText(err)))
		return &LoadErrorLogged{fmt.Errorf("open AOF file %s: %w", path, err)}
	}
	// Written only when it changed, as Redis: a restart that reopens the
	// last incremental file costs no fsync.
	if wroteBase || !opened {
		if err := a.writeManifest(m); err != nil {
			f.Close()
			s.log.Warn("Can't persist the AOF manifest", "error", err)
			return &LoadErrorLogged{err}
		}
	}
	if wroteBase {
		// INFO's sizes start from the base just written.
		if st, err := os.Stat(filepath.Join(a.dir, m.base.name)); err == nil {
			a.baseSize, a.curSize = st.Size(), st.Size()
		}
	}
	a.startWriter(f)
	a.on = true
	if opened {
		s.log.Info("Opening AOF incr file " + last.name + " on server start")
	} else {
		s.log.Info("Creating AOF incr file " + last.name + " on server start")
	}
	return nil
}

// writeStartBase writes the base of a start without any AOF: the dataset
// is empty then (nothing was loaded), so the base holds only what an
// empty dataset has, the libraries. With aof-use-rdb-preamble yes it is
// an RDB (NAME.1.base.rdb); with no, a command file (NAME.1.base.aof),
// which for an empty dataset with no library is an empty file. Called
// under the lock.
func (s *Server) writeStartBase() (string, error) {
	a := &s.p.aof
	codes := s.functionCodes()
	keys := 0
	for _, db := range s.store.DBs {
		keys += db.Len()
	}
	// Skiff writes bases as RDB files; the command form is only written
	// when it needs no command, which is the case at a start from nothing.
	rdbBase := s.cfg.Bool("aof-use-rdb-preamble") || keys > 0 || len(codes) > 0
	name := fmt.Sprintf("%s.1.base.aof", a.name)
	if rdbBase {
		name = a.baseName(1)
	}
	path := filepath.Join(a.dir, name)
	tmp := filepath.Join(a.dir, fmt.Sprintf("temp-rewriteaof-%d.aof", pid))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", tmp, err)
	}
	if rdbBase {
		err = s.writeRDBLocked(f, codes)
	}
	if err == nil {
		err = commitFile(f, tmp, path)
	} else {
		f.Close()
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write AOF base %s: %w", path, err)
	}
	return name, nil
}

// writeRDBLocked writes the whole dataset as an AOF base RDB, holding the
// lock. Called under the lock.
func (s *Server) writeRDBLocked(f *os.File, codes [][]byte) error {
	sn, err := s.store.BeginSnapshot()
	if err != nil {
		return err
	}
	defer sn.Close()
	bw := bufio.NewWriter(f)
	w := rdb.NewWriter(bw)
	w.SetCompression(s.cfg.Bool("rdbcompression"))
	err = w.Header(s.rdbAux(true))
	if err == nil {
		err = writeFunctionCodes(w, codes)
	}
	for done := false; err == nil && !done; {
		done, err = sn.Step(w, 1<<30, time.Hour)
	}
	if err == nil {
		err = w.Finish()
	}
	if err == nil {
		err = bw.Flush()
	}
	return err
}

// startAOF turns appending on at run time (CONFIG SET appendonly yes) or
// on a fresh start: a new incremental file, then a rewrite that writes
// the base. Called under the lock.
func (s *Server) startAOF() error {
	a := &s.p.aof
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return fmt.Errorf("create AOF directory: %w", err)
	}
	if a.stop == nil {
		a.startWriter(nil)
	}
	a.on = true
	if s.p.job != nil && s.p.job.aof == nil {
		// A BGSAVE holds the snapshot: rewrite when it is over.
		if err := s.rotateIncr(); err != nil {
			return err
		}
		a.rewriteScheduled = true
		return nil
	}
	return s.startAOFRewrite()
}

// stopAOF is CONFIG SET appendonly no. Called under the lock.
func (s *Server) stopAOF() {
	a := &s.p.aof
	if j := s.p.job; j != nil && j.aof != nil {
		// Redis's words, which scripts and its suite look for; the
		// "child" is the rewrite's goroutine here.
		s.log.Warn("Killing running AOF rewrite child")
		s.abortSaveJob()
	}
	a.on = false
	a.waitRewrite = false
	s.flushAOFLocked()
	a.stopWriter()
}

// feedAOF appends a propagated command to the AOF buffer, with a SELECT
// when the database changes. Called under the lock.
func (s *Server) feedAOF(dbID int, args [][]byte) {
	a := &s.p.aof
	if !a.on || a.loading {
		return
	}
	n := len(a.buf)
	if dbID >= 0 && dbID != a.selDB {
		a.buf = replication.AppendSelect(a.buf, dbID)
		a.selDB = dbID
	}
	a.buf = replication.AppendCommand(a.buf, args)
	a.fedOff += int64(len(a.buf) - n)
}

// aofBatchDone is called under the lock after a connection's batch of
// commands: it wakes the writer and returns the offset the connection
// must wait for before replying (0: no need to wait).
func (s *Server) aofBatchDone() int64 {
	a := &s.p.aof
	if !a.on || a.fedOff == a.syncedOff.Load() {
		return 0
	}
	a.wake()
	// Like Redis, which write(2)s the AOF buffer before replying: under
	// every policy a reply follows the write (so a killed process loses
	// nothing it acknowledged); under always it also follows the fsync.
	return a.fedOff
}

// aofWait blocks until the AOF is written (and under appendfsync always,
// fsynced) up to off.
func (s *Server) aofWait(off int64) {
	a := &s.p.aof
	if off == 0 || a.syncedOff.Load() >= off {
		return
	}
	a.mu.Lock()
	for a.syncedOff.Load() < off && a.stop != nil {
		a.cond.Wait()
	}
	a.mu.Unlock()
}

func (a *aofState) wake() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// rotateIncr starts a new incremental file: commands fed from now on go
// there, and the manifest lists it before any command is written to it.
// Called under the lock.
func (s *Server) rotateIncr() error {
	a := &s.p.aof
	m := a.man
	seq := m.nextIncrSeq()
	nf := aofFile{name: a.incrName(seq), seq: seq, typ: 'i'}
	f, err := os.OpenFile(filepath.Join(a.dir, nf.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open AOF file: %w", err)
	}
	m.incr = append(append([]aofFile(nil), m.incr...), nf)
	if err := a.writeManifest(m); err != nil {
		f.Close()
		return err
	}
	a.queue = append(a.queue, aofChunk{data: a.buf}, aofChunk{rotate: f})
	a.buf = nil
	a.selDB = -1
	a.wake()
	return nil
}

// startWriter runs the goroutine that writes and fsyncs the AOF.
func (a *aofState) startWriter(f *os.File) {
	a.kick = make(chan struct{}, 1)
	a.mu.Lock()
	a.stop = make(chan struct{})
	a.mu.Unlock()
	a.stopped = make(chan struct{})
	go a.writer(f, a.kick, a.stop, a.stopped)
}

// stopWriter ends the writer after it has written and fsynced what was
// queued. Called under the lock; the writer needs the lock to take its
// last chunk, so that is done here first.
func (a *aofState) stopWriter() {
	if a.stop == nil {
		return
	}
	close(a.stop)
	a.mu.Lock()
	a.stop = nil
	a.cond.Broadcast()
	a.mu.Unlock()
}

// writer drains the buffer to the current file, fsyncing as the policy
// says, until stopped.
func (a *aofState) writer(file *os.File, kick, stop, stopped chan struct{}) {
	defer close(stopped)
	s := a.srv
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastSync := time.Now()
	for {
		final := false
		select {
		case <-kick:
		case <-tick.C:
		case <-stop:
			final = true
		}
		s.mu.Lock()
		q := a.queue
		if len(a.buf) > 0 {
			q = append(q, aofChunk{data: a.buf})
		}
		a.queue, a.buf = nil, nil
		off := a.fedOff
		s.mu.Unlock()
		var werr error
		written := 0
		for _, ch := range q {
			if ch.rotate != nil {
				if file != nil {
					if err := file.Sync(); err != nil && werr == nil {
						werr = err
					}
					file.Close()
				}
				file = ch.rotate
				continue
			}
			if len(ch.data) == 0 || file == nil {
				continue
			}
			t0 := monoNow()
			if _, err := file.Write(ch.data); err != nil && werr == nil {
				werr = err
			}
			s.latencySample("aof-write", monoNow()-t0) // latency.go
			written += len(ch.data)
		}
		policy := a.fsync.Load()
		if werr == nil && file != nil && (policy == fsyncAlways && written > 0 || final ||
			policy == fsyncEverysec && time.Since(lastSync) >= time.Second) {
			t0 := monoNow()
			werr = file.Sync()
			if policy == fsyncAlways {
				// Replies wait for this fsync (group commit).
				s.latencySample("aof-fsync-always", monoNow()-t0)
			}
			lastSync = time.Now()
		}
		s.mu.Lock()
		a.curSize += int64(written)
		if werr != nil {
			if a.writeErr == "" {
				s.log.Warn("error writing to the AOF file", "error", werr)
			}
			a.writeErr = errText(werr)
		} else if a.writeErr != "" {
			s.log.Warn("AOF write error looks solved, Redis can write again")
			a.writeErr = ""
		}
		s.updateDenyWrites()
		s.mu.Unlock()
		if werr == nil {
			a.mu.Lock()
			a.syncedOff.Store(off)
			a.cond.Broadcast()
			a.mu.Unlock()
		}
		if final {
			if file != nil {
				file.Close()
				file = nil
			}
			return
		}
	}
}

// errText is strerror's text for an I/O error.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// flushAOFLocked writes and fsyncs everything buffered, synchronously
// (SHUTDOWN). Called under the lock: the writer is asked to finish and
// waited for without the lock.
func (s *Server) flushAOFLocked() {
	a := &s.p.aof
	if a.stop == nil {
		return
	}
	stopped := a.stopped
	a.stopWriter()
	s.mu.Unlock()
	<-stopped
	s.mu.Lock()
	a.kick = nil
}

// aofShutdown flushes the AOF on exit. Called under the lock.
func (s *Server) aofShutdown() {
	if s.p.aof.on {
		s.flushAOFLocked()
		s.p.aof.on = false
	}
}

// ---- rewrite ----

func cmdBgrewriteaof(c *Client, args [][]byte) {
	s := c.srv
	switch {
	case s.p.job != nil && s.p.job.aof != nil:
		c.replyError("ERR Background append only file rewriting already in progress")
	case s.childActive() || s.blocking.depth > 1:
		s.p.aof.rewriteScheduled = true
		s.p.aof.rewriteFailures = 0
		c.w.AppendSimple("Background append only file rewriting scheduled")
	default:
		if err := s.startAOFRewrite(); err != nil {
			s.log.Warn("cannot rewrite the AOF", "error", err)
			c.replyError("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.")
			return
		}
		c.w.AppendSimple("Background append only file rewriting started")
	}
}

// startAOFRewrite switches to a new incremental file and starts writing
// a new base from a snapshot taken at the same instant. Called under the
// lock.
func (s *Server) startAOFRewrite() error {
	a := &s.p.aof
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return fmt.Errorf("create AOF directory: %w", err)
	}
	if a.on {
		if err := s.rotateIncr(); err != nil {
			return err
		}
	}
	var baseSeq int64 = 1
	if a.man.base != nil {
		baseSeq = a.man.base.seq + 1
	}
	rw := &aofRewrite{baseName: a.baseName(baseSeq), baseSeq: baseSeq}
	if n := len(a.man.incr); n > 0 && a.on {
		rw.incr = a.man.incr[n-1]
	}
	a.rewriteScheduled = false
	s.log.Info("background append only file rewriting started")
	return s.startBgsave(filepath.Join(a.dir, rw.baseName), rw)
}

// finishAOFRewrite commits a finished rewrite: the new base and the
// incremental file opened at its start become the AOF, the rest history
// (then deleted). Called under the lock.
func (s *Server) finishAOFRewrite(job *saveJob, err error) {
	a := &s.p.aof
	rw := job.aof
	a.lastRewriteDur = int64(time.Since(job.start).Round(time.Second) / time.Second)
	a.lastCow = job.snap.CopiedBytes
	if job.aborted {
		os.Remove(job.path)
		return
	}
	if err == nil {
		m := aofManifest{base: &aofFile{name: rw.baseName, seq: rw.baseSeq, typ: 'b'}}
		var old []aofFile
		if a.man.base != nil {
			old = append(old, *a.man.base)
		}
		for _, f := range a.man.incr {
			if f.name == rw.incr.name {
				m.incr = append(m.incr, f)
			} else {
				old = append(old, f)
			}
		}
		if !a.on {
			// Rewrite of an AOF that is off: nothing appends, keep the base only.
			m.incr = nil
		}
		err = a.writeManifest(m)
		if err == nil {
			for _, f := range old {
				os.Remove(filepath.Join(a.dir, f.name))
			}
			for _, f := range a.man.hist {
				os.Remove(filepath.Join(a.dir, f.name))
			}
			if st, serr := os.Stat(job.path); serr == nil {
				a.baseSize = st.Size()
				a.curSize = st.Size()
			}
			for _, f := range m.incr {
				if st, serr := os.Stat(filepath.Join(a.dir, f.name)); serr == nil {
					a.curSize += st.Size()
				}
			}
		}
	}
	if err != nil {
		s.log.Warn("background AOF rewrite failed", "error", err)
		os.Remove(job.path)
		a.lastRewriteOK = false
		a.rewriteFailures++
		return
	}
	s.log.Info("background AOF rewrite terminated with success")
	a.waitRewrite = false
	a.lastRewriteOK = true
	a.rewriteFailures = 0
	a.rewrites++
}

// aofCron schedules rewrites: requested ones and automatic growth-based
// ones (auto-aof-rewrite-percentage / -min-size). Called under the lock.
func (s *Server) aofCron() {
	a := &s.p.aof
	if s.childActive() {
		return
	}
	if a.rewriteScheduled {
		if err := s.startAOFRewrite(); err != nil {
			s.log.Warn("scheduled AOF rewrite failed to start", "error", err)
			a.rewriteScheduled = false
		}
		return
	}
	if !a.on {
		return
	}
	perc := s.cfg.Int("auto-aof-rewrite-percentage")
	minSize := s.cfg.Int("auto-aof-rewrite-min-size")
	if perc > 0 && a.curSize > minSize {
		base := max(a.baseSize, 1)
		if growth := a.curSize*100/base - 100; growth >= perc {
			s.log.Info("starting automatic rewriting of AOF", "growth_percent", growth)
			if err := s.startAOFRewrite(); err != nil {
				s.log.Warn("automatic AOF rewrite failed to start", "error", err)
			}
		}
	}
}

// aofInfo writes the INFO persistence fields shown while the AOF is on.
func (s *Server) aofInfo(b *infoBuf) {
	a := &s.p.aof
	b.kv("aof_current_size", a.curSize)
	b.kv("aof_base_size", a.baseSize)
	b.kv("aof_pending_rewrite", bit(a.rewriteScheduled))
	b.kv("aof_buffer_length", len(a.buf))
	b.kv("aof_pending_bio_fsync", 0)
	b.kv("aof_delayed_fsync", 0)
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// listenerSet holds the server's listening sockets: the plain ones (port
// on every bind address), the TLS ones (tls-port) and the Unix socket.
// The plain and TLS ones can be replaced while the server runs (CONFIG SET
// port, tls-port, bind); their accept loops end when a listener closes.
type listenerSet struct {
	mu        sync.Mutex
	listening bool // Listen succeeded: changes of port/bind now rebind
	accepting bool // accept loops run (startAccepting)
	plain     []net.Listener
	tls       []net.Listener
	unix      net.Listener
	unixPath  string
	// the values plain and tls were bound from, so that a CONFIG SET that
	// changes nothing does not rebind, and the ports actually bound (a
	// port 0 at start is a free port: a rollback to "0" means that one)
	bind                string
	port, tlsPortCfg    int
	boundPort, boundTLS int
	failed              bool // the last rebind failed: nothing is bound
	// freePort: started with port 0 and no tls-port, which in Skiff means
	// a free port (not "no TCP" as at run time)
	freePort bool
}

// Listen binds every address of the `bind` option on `port`, and on
// `tls-port` when set (node/tls.go), and the `unixsocket` path when set.
// The special forms "*" and "-::*" (optional IPv6 wildcard) are
// understood as Redis does: a leading '-' makes an address optional. With
// a tls-port, `port 0` means no plain listener, as in Redis; without one,
// port 0 picks a free port (tests use it). An empty bind means no TCP
// listener at all, which is allowed only with a Unix socket.
func (s *Server) Listen() error {
	l := &s.lns
	l.mu.Lock()
	defer l.mu.Unlock()
	bind := s.cfg.String("bind")
	port := int(s.cfg.Int("port"))
	tlsPort := int(s.cfg.Int("tls-port"))
	if tlsPort != 0 {
		ls, bound, err := s.listenTLS(bind, tlsPort)
		if err != nil {
			return err
		}
		l.tls, s.tlsPort = ls, bound
	}
	if port != 0 || tlsPort == 0 {
		ls, bound, err := listenAll(bind, port)
		if err != nil {
			closeAll(l.tls)
			l.tls = nil
			return err
		}
		l.plain, s.port = ls, bound
	}
	if port == 0 && tlsPort != 0 {
		s.port = s.tlsPort // INFO tcp_port and the like: Redis's "port ? port : tls_port"
	}
	if path := s.cfg.String("unixsocket"); path != "" {
		ln, err := listenUnix(path, os.FileMode(s.cfg.Octal("unixsocketperm")))
		if err != nil {
			closeAll(l.plain)
			closeAll(l.tls)
			l.plain, l.tls = nil, nil
			return err
		}
		l.unix, l.unixPath = ln, path
	}
	if len(l.plain) == 0 && len(l.tls) == 0 && l.unix == nil {
		return errors.New("Configured to not listen anywhere, exiting.")
	}
	l.listening = true
	l.freePort = port == 0 && tlsPort == 0
	l.bind, l.port, l.tlsPortCfg = bind, port, tlsPort
	// With bind "" nothing is bound, but a later bind binds port.
	l.boundPort, l.boundTLS = port, tlsPort
	if len(l.plain) > 0 {
		l.boundPort = l.plain[0].Addr().(*net.TCPAddr).Port
	}
	if len(l.tls) > 0 {
		l.boundTLS = s.tlsPort
	}
	return nil
}

// UnixSocket is the path of the Unix socket served, "" without one.
func (s *Server) UnixSocket() string {
	s.lns.mu.Lock()
	defer s.lns.mu.Unlock()
	return s.lns.unixPath
}

// HasTCPListener reports whether the server listens on any TCP port.
func (s *Server) HasTCPListener() bool {
	s.lns.mu.Lock()
	defer s.lns.mu.Unlock()
	return len(s.lns.plain)+len(s.lns.tls) > 0
}

// listenUnix serves RESP on a Unix socket at path, as Redis does: a stale
// socket file is removed first, and perm (when not 0) becomes the file's
// mode.
func listenUnix(path string, perm os.FileMode) (net.Listener, error) {
	os.Remove(path) // a socket left by a previous run; other errors show in Listen
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("Failed opening Unix socket: %w", err)
	}
	// The file stays if the listener is closed (see closeListeners, which
	// removes it at shutdown as Redis does).
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if perm != 0 {
		if err := os.Chmod(path, perm); err != nil {
			ln.Close()
			return nil, fmt.Errorf("Failed opening Unix socket: chmod %s: %w", path, err)
		}
	}
	return ln, nil
}

// listenAll binds every address of bind on port (0: a free port, the
// same for every address) and returns the listeners and the port. An
// empty bind binds nothing.
func listenAll(bind string, port int) ([]net.Listener, int, error) {
	var out []net.Listener
	addrs := strings.Fields(bind)
	for _, addr := range addrs {
		optional := strings.HasPrefix(addr, "-")
		addr = strings.TrimPrefix(addr, "-")
		network := "tcp4"
		host := addr
		switch addr {
		case "*":
			host = "0.0.0.0"
		case "::*":
			network, host = "tcp6", "::"
		default:
			if strings.Contains(addr, ":") {
				network = "tcp6"
			}
		}
		ln, err := net.Listen(network, net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			if optional {
				continue
			}
			closeAll(out)
			return nil, 0, fmt.Errorf("listen on %s port %d: %w", addr, port, err)
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		out = append(out, ln)
	}
	if len(addrs) > 0 && len(out) == 0 {
		return nil, 0, fmt.Errorf("listen on port %d: no bind address could be used", port)
	}
	return out, port, nil
}

func closeAll(ls []net.Listener) {
	for _, ln := range ls {
		ln.Close()
	}
}

// closeListeners closes every listener, and removes the Unix socket file
// (shutdown).
func (s *Server) closeListeners() {
	l := &s.lns
	l.mu.Lock()
	defer l.mu.Unlock()
	closeAll(l.plain)
	closeAll(l.tls)
	l.plain, l.tls = nil, nil
	if l.unix != nil {
		l.unix.Close()
		l.unix = nil
		s.log.Info("Removing the unix socket file.")
		if err := os.Remove(l.unixPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn(fmt.Sprintf("Error removing the unix socket file: %v", err))
		}
	}
}

// startAccepting starts one accept loop per listener, once: during the
// start-up load (Load) or from Serve. Listeners bound later (CONFIG SET
// port/bind) get theirs when they are bound.
func (s *Server) startAccepting() {
	l := &s.lns
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.accepting {
		return
	}
	l.accepting = true
	all := append(append([]net.Listener(nil), l.plain...), l.tls...)
	if l.unix != nil {
		all = append(all, l.unix)
	}
	for _, ln := range all {
		s.wg.Add(1)
		go s.acceptLoop(ln)
	}
}

// acceptIfListening starts the accept loops when Listen has been called.
func (s *Server) acceptIfListening() {
	s.lns.mu.Lock()
	listening := s.lns.listening
	s.lns.mu.Unlock()
	if listening {
		s.startAccepting()
	}
}

// relisten applies CONFIG SET port, tls-port or bind: when what they ask
// differs from what is bound, the TCP and TLS listeners are closed and
// bound again from the current values, as Redis does (closing first, so
// that an address kept in the new bind can be bound again). On failure
// nothing listens on TCP until the config rollback calls relisten with
// the old values. Connections already accepted stay open.
func (s *Server) relisten(option string) error {
	l := &s.lns
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.listening {
		return nil // loading the config: Listen binds later
	}
	bind := s.cfg.String("bind")
	port := int(s.cfg.Int("port"))
	tlsPort := int(s.cfg.Int("tls-port"))
	same := bind == l.bind && port == l.port && tlsPort == l.tlsPortCfg
	if same && !l.failed {
		return nil
	}
	if s.sentinel != nil || s.cfg.Bool("cluster-enabled") {
		// The address is what the other sentinels or the cluster's
		// metadata know this process by.
		return errors.New("the listening address of a sentinel or a cluster node can't be changed at run time")
	}
	// The ports to bind: an unchanged value means the port bound before
	// (the free port a start-up "0" was given).
	bindPort, bindTLS := port, tlsPort
	if port == l.port {
		bindPort = l.boundPort
	}
	if tlsPort == l.tlsPortCfg {
		bindTLS = l.boundTLS
	}
	closeAll(l.plain)
	closeAll(l.tls)
	l.plain, l.tls = nil, nil
	fail := func(err error) error {
		closeAll(l.plain)
		closeAll(l.tls)
		l.plain, l.tls = nil, nil
		// The rollback calls again with the old values: it must rebind.
		l.failed = true
		s.log.Warn("Failed to bind", "option", option, "error", err)
		if option == "bind" {
			return errors.New("Failed to bind to specified addresses.")
		}
		return errors.New("Unable to listen on this port. Check server logs.")
	}
	if bindPort != 0 || port == l.port && l.freePort {
		ls, bound, err := listenAll(bind, bindPort)
		if err != nil {
			return fail(err)
		}
		l.plain, bindPort = ls, bound
	}
	if bindTLS != 0 {
		ls, _, err := s.listenTLS(bind, bindTLS)
		if err != nil {
			return fail(err)
		}
		l.tls = ls
	}
	s.tlsPort = bindTLS
	s.port = bindPort
	if bindPort == 0 {
		s.port = s.tlsPort
	}
	l.bind, l.port, l.tlsPortCfg = bind, port, tlsPort
	l.boundPort, l.boundTLS, l.failed = bindPort, bindTLS, false
	if l.accepting {
		for _, ln := range append(append([]net.Listener(nil), l.plain...), l.tls...) {
			s.wg.Add(1)
			go s.acceptLoop(ln)
		}
	}
	return nil
}

// unixSocketAddr is how Redis shows a Unix socket client's address and
// local address (CLIENT LIST addr= and laddr=).
const unixSocketAddr = "/unixsocket:0"

// dialSource is the dialer of outgoing connections (replication,
// MIGRATE): from bind-source-addr when set, as Redis does.
func (s *Server) dialSource(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if a := s.cfg.String("bind-source-addr"); a != "" {
		if ip := net.ParseIP(a); ip != nil {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	return d
}

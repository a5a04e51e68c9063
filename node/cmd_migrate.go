package node

// MIGRATE and RESTORE-ASKING, as Redis 7.0 does them: MIGRATE sends
// RESTORE (RESTORE-ASKING in cluster mode) commands with DUMP payloads to
// the target over a cached connection (10 s), waits for the replies within
// the timeout, deletes the keys the target acknowledged (unless COPY) and
// propagates that as DEL. Like Redis, it blocks the server while it talks
// to the target: it runs under the data lock.

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/rdb"
)

func init() {
	register(
		&Command{Name: "migrate", Arity: -6, Flags: "write", FirstKey: 3, LastKey: 3, Step: 1, Group: "generic", Since: "2.6.0",
			Summary:    "Atomically transfer a key from a Redis instance to another one.",
			Complexity: "This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.",
			ACL:        []string{"keyspace", "dangerous"}, Handler: cmdMigrate},
		&Command{Name: "restore-asking", Arity: -4, Flags: "write denyoom asking", FirstKey: 1, LastKey: 1, Step: 1, Group: "server", Since: "3.0.0",
			Summary:    "An internal command for migrating keys in a cluster",
			Complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
			ACL:        []string{"keyspace", "dangerous"}, Handler: cmdRestore},
	)
}

const migrateSocketTTL = 10 * time.Second

type migrateSocket struct {
	conn    net.Conn
	br      *bufio.Reader
	lastDB  int64
	lastUse time.Time
}

// migrateSockets is the MIGRATE connection cache (Redis's
// migrate_cached_sockets), used under the data lock.
type migrateSockets struct {
	m map[string]*migrateSocket
}

func (s *Server) migrateSocket(addr string, timeout time.Duration) (*migrateSocket, error) {
	if s.mig == nil {
		s.mig = &migrateSockets{m: map[string]*migrateSocket{}}
	}
	now := time.Now()
	for k, ms := range s.mig.m {
		if now.Sub(ms.lastUse) > migrateSocketTTL {
			ms.conn.Close()
			delete(s.mig.m, k)
		}
	}
	if ms := s.mig.m[addr]; ms != nil {
		ms.lastUse = now
		return ms, nil
	}
	if len(s.mig.m) >= 64 {
		for k, ms := range s.mig.m {
			ms.conn.Close()
			delete(s.mig.m, k)
			break
		}
	}
	conn, err := s.dialSource(timeout).Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if conn, err = s.migrateTLS(conn, addr, timeout); err != nil {
		return nil, err
	}
	ms := &migrateSocket{conn: conn, br: bufio.NewReader(conn), lastDB: -1, lastUse: now}
	s.mig.m[addr] = ms
	return ms, nil
}

func (s *Server) closeMigrateSocket(addr string) {
	if s.mig == nil {
		return
	}
	if ms := s.mig.m[addr]; ms != nil {
		ms.conn.Close()
		delete(s.mig.m, addr)
	}
}

// migrateCachedSockets is INFO's migrate_cached_sockets.
func (s *Server) migrateCachedSockets() int {
	if s.mig == nil {
		return 0
	}
	return len(s.mig.m)
}

// cmdMigrate is MIGRATE host port key|"" db timeout [COPY] [REPLACE]
// [AUTH password | AUTH2 username password] [KEYS key ...].
func cmdMigrate(c *Client, args [][]byte) {
	s := c.srv
	var copyKeys, replace bool
	var user, pass []byte
	firstKey, numKeys := 3, 1
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch opt := strings.ToLower(string(args[j])); opt {
		case "copy":
			copyKeys = true
		case "replace":
			replace = true
		case "auth":
			if more < 1 {
				c.replySyntax()
				return
			}
			j++
			pass = args[j]
		case "auth2":
			if more < 2 {
				c.replySyntax()
				return
			}
			user, pass = args[j+1], args[j+2]
			j += 2
		case "keys":
			if len(args[3]) != 0 {
				c.replyError("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
				return
			}
			firstKey, numKeys = j+1, len(args)-j-1
			j = len(args)
		default:
			c.replySyntax()
			return
		}
	}
	timeoutMs, ok := parseInt(args[5])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	dbid, ok := parseInt(args[4])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if timeoutMs <= 0 {
		timeoutMs = 1000
	}
	timeout := time.Duration(timeoutMs) * time.Millisecond
	var keys [][]byte
	for j := 0; j < numKeys; j++ {
		if k := args[firstKey+j]; c.lookupRead(k) != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		c.w.AppendSimple("NOKEY")
		return
	}
	addr := net.JoinHostPort(string(args[1]), string(args[2]))
	verb := []byte("RESTORE")
	if c.clusterEnabled() {
		verb = []byte("RESTORE-ASKING")
	}
	mayRetry := true
	for {
		ms, err := s.migrateSocket(addr, timeout)
		if err != nil {
			c.replyError("IOERR error or timeout connecting to the client")
			return
		}
		var buf []byte
		if pass != nil {
			if user != nil {
				buf = resp.AppendCommand(buf, []byte("AUTH"), user, pass)
			} else {
				buf = resp.AppendCommand(buf, []byte("AUTH"), pass)
			}
		}
		sel := ms.lastDB != dbid
		if sel {
			buf = resp.AppendCommand(buf, []byte("SELECT"), strconv.AppendInt(nil, dbid, 10))
		}
		now := time.Now().UnixMilli()
		sent := keys[:0:0]
		for _, k := range keys {
			e := c.db.Peek(k)
			if e == nil {
				continue
			}
			var ttl int64
			if e.Val.Expire != 0 {
				ttl = e.Val.Expire - now
				if ttl < 0 {
					continue
				}
				if ttl < 1 {
					ttl = 1
				}
			}
			payload, err := rdb.EncodeValue(&e.Val)
			if err != nil {
				c.replyErrorf("ERR cannot serialize the value: %v", err)
				return
			}
			cmd := [][]byte{verb, k, strconv.AppendInt(nil, ttl, 10), payload}
			if replace {
				cmd = append(cmd, []byte("REPLACE"))
			}
			buf = resp.AppendCommand(buf, cmd...)
			sent = append(sent, k)
		}
		_ = ms.conn.SetDeadline(time.Now().Add(timeout))
		writeErr := false
		var line0, line1 string
		readLine := func() (string, error) {
			l, err := ms.br.ReadString('\n')
			return strings.TrimRight(l, "\r\n"), err
		}
		if _, err = ms.conn.Write(buf); err != nil {
			writeErr = true
		}
		if err == nil && pass != nil {
			line0, err = readLine()
		}
		if err == nil && sel {
			line1, err = readLine()
		}
		if err != nil {
			s.closeMigrateSocket(addr)
			if mayRetry && !migrateTimeout(err) {
				mayRetry = false
				continue
			}
			c.replyIOErr(writeErr)
			return
		}
		targetErr := false
		socketErr := false
		var deleted [][]byte
		j := 0
		for ; j < len(sent); j++ {
			l, err := readLine()
			if err != nil {
				socketErr = true
				if j == 0 && mayRetry && !migrateTimeout(err) {
					break
				}
				break
			}
			if strings.HasPrefix(line0, "-") || strings.HasPrefix(line1, "-") || strings.HasPrefix(l, "-") {
				if !targetErr {
					ms.lastDB = -1
					targetErr = true
					msg := l
					if strings.HasPrefix(line0, "-") {
						msg = line0
					} else if strings.HasPrefix(line1, "-") {
						msg = line1
					}
					c.replyError("ERR Target instance replied with error: " + msg[1:])
				}
				continue
			}
			if !copyKeys {
				k := sent[j]
				c.db.Delete(string(k))
				c.modified(k)
				c.notify(notifyGeneric, "del", k)
				deleted = append(deleted, listCopyBytes(k))
			}
		}
		if socketErr {
			s.closeMigrateSocket(addr)
		}
		if !targetErr && socketErr && j == 0 && mayRetry {
			mayRetry = false
			continue
		}
		if len(deleted) > 0 {
			c.propagateArgv = append([][]byte{[]byte("DEL")}, deleted...)
		}
		if !targetErr && socketErr {
			c.replyIOErr(false)
			return
		}
		if !targetErr {
			ms.lastDB = dbid
			c.replyOK()
		}
		return
	}
}

func (c *Client) replyIOErr(writing bool) {
	if writing {
		c.replyError("IOERR error or timeout writing to target instance")
	} else {
		c.replyError("IOERR error or timeout reading to target instance")
	}
}

func migrateTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

package node

// Redis 8.4's face of atomic slot migration: CLUSTER MIGRATION
// IMPORT | CANCEL | STATUS, on the same jobs as Valkey's commands
// (slotmig.go). IMPORT runs on the target: it asks the slots' owner to
// export them here under a task id the target chose (CLUSTER
// SKIFF-EXPORT), so the task id is the job's name on both ends.

import (
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/slots"
)

// cmdMigration is CLUSTER MIGRATION <IMPORT s e [s e ...] | CANCEL <ID
// id | ALL> | STATUS <ID id | ALL>>.
func (s *Server) cmdMigration(c *Client, args [][]byte) {
	if len(args) < 4 {
		c.replyError("ERR wrong number of arguments for 'cluster|migration' command")
		return
	}
	op := strings.ToLower(string(args[2]))
	var match func(*slotJob) bool
	if op == "cancel" || op == "status" {
		switch {
		case len(args) == 4 && strings.EqualFold(string(args[3]), "all"):
			match = func(*slotJob) bool { return true }
		case len(args) == 5 && strings.EqualFold(string(args[3]), "id"):
			id := string(args[4])
			match = func(j *slotJob) bool { return j.name == id }
		default:
			c.replySyntax()
			return
		}
	}
	switch op {
	case "import":
		s.migrationImport(c, args[3:])
	case "cancel":
		n := s.cancelExports(func(j *slotJob) bool { return match(j) })
		for _, j := range s.asm().jobs {
			if j.export || j.finished() || !match(j) {
				continue
			}
			if j.client != nil {
				j.message = "Cancelled by CLUSTER MIGRATION CANCEL."
				j.client.conn.Close() // the source sees the end; the abort follows (importGone)
				n++
			} else if j.state == jobConnecting {
				j.setState(jobCancelled)
				n++
			}
		}
		c.replyInt(int64(n))
	case "status":
		var list []*slotJob
		for _, j := range s.asm().jobs {
			if match(j) {
				list = append(list, j)
			}
		}
		c.w.AppendArray(len(list))
		for _, j := range list {
			s.replyMigrationStatus(c, j)
		}
	default:
		c.replySyntax()
	}
}

// migrationImport starts the import of slots from their owner.
func (s *Server) migrationImport(c *Client, args [][]byte) {
	set, msg := parseSlotPairs(args)
	if msg != "" {
		c.replyError(msg)
		return
	}
	v := s.cl.node.View()
	if !v.Self.Master || s.repl.masterHost != "" {
		c.replyError("ERR Slot import can only be started on a primary node")
		return
	}
	var src string
	for sl := set.Next(0); sl >= 0; sl = set.Next(sl + 1) {
		o := v.Owner[sl]
		switch {
		case o == nil:
			c.replyErrorf("ERR Slot %d is not assigned to any node", sl)
			return
		case o == v.Self:
			c.replyErrorf("ERR Slot %d is already owned by this node", sl)
			return
		case src != "" && o.ID != src:
			c.replyError("ERR The slots belong to more than one node: import each node's slots in a task of its own")
			return
		}
		src = o.ID
		if v.Importing[sl] != nil || v.Migrating[sl] != nil {
			c.replyErrorf("ERR Slot %d has an open migration (CLUSTER SETSLOT); close it first", sl)
			return
		}
	}
	for _, j := range s.asm().jobs {
		if j.finished() {
			continue
		}
		for sl := set.Next(0); sl >= 0; sl = set.Next(sl + 1) {
			if j.set.Has(sl) {
				c.replyErrorf("ERR Slot %d is already being migrated", sl)
				return
			}
		}
	}
	srcNode := v.Node(src)
	j := &slotJob{name: newJobName(), source: src, target: v.SelfID, set: set, created: time.Now()}
	j.setState(jobConnecting)
	s.asm().add(j)
	cmd := []string{"CLUSTER", "SKIFF-EXPORT", j.name, "SLOTSRANGE"}
	set.EachRange(func(r slots.Range) bool {
		cmd = append(cmd, strconv.Itoa(r.Start), strconv.Itoa(r.End))
		return true
	})
	cmd = append(cmd, "NODE", v.SelfID)
	go func() {
		err := s.sendPeer(srcNode.Addr, cmd)
		if err == nil {
			return // the source connects back (cmdSkiffImport takes the job over)
		}
		s.mu.Lock()
		if j.state == jobConnecting {
			j.setState(jobFailed)
			j.message = err.Error()
		}
		s.mu.Unlock()
	}()
	c.replyBulkString(j.name)
}

// sendPeer sends one command to another node and returns its error
// reply, if any.
func (s *Server) sendPeer(addr string, args []string) error {
	conn, br, err := s.cl.node.DialPeer(addr, asmDialTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(asmHandshakeTime))
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	if _, err := conn.Write(appendArgs(nil, b)); err != nil {
		return err
	}
	return readPeerReply(br)
}

// replyMigrationStatus is one entry of CLUSTER MIGRATION STATUS, with
// Redis 8.4's fields (times in unix ms).
func (s *Server) replyMigrationStatus(c *Client, j *slotJob) {
	op := "import"
	if j.export {
		op = "migrate"
	}
	var end int64
	if j.finished() {
		end = j.updated.UnixMilli()
	}
	c.w.AppendMap(12)
	for _, kv := range []struct {
		k string
		v any
	}{
		{"id", j.name}, {"slots", j.rangesText()}, {"source", j.source}, {"dest", j.target},
		{"operation", op}, {"state", j.state}, {"last_error", j.message}, {"retries", int64(0)},
		{"create_time", j.created.UnixMilli()}, {"start_time", j.created.UnixMilli()}, {"end_time", end},
		{"write_pause_ms", j.pauseTook.Milliseconds()},
	} {
		c.w.AppendBulkString(kv.k)
		switch x := kv.v.(type) {
		case string:
			c.w.AppendBulkString(x)
		case int64:
			c.w.AppendInt(x)
		}
	}
}

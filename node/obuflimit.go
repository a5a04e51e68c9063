package node

import (
	"strings"
	"time"
)

// replyOverLimit enforces client-output-buffer-limit's hard limit on the
// replies a client has not been sent yet, as Redis checks its output
// buffer after every reply it adds: once they reach the limit of the
// client's class (normal, or pubsub for a subscriber) the client is
// closed without being sent any of them, and the rest of its pipeline is
// not run. Commands that can build huge replies call it as they go, so
// they stop early. Masters and replicas are not concerned (the replica
// class applies to the replication stream, replication/outbound.go).
// Under the lock.
func (c *Client) replyOverLimit() bool {
	if c.flags&(clientMaster|clientReplica) != 0 || len(c.w.B) == 0 {
		return false
	}
	s := c.srv
	l := s.x.ps.limitNormal
	if c.flags&clientPubSub != 0 {
		l = s.x.ps.limitPubSub
	}
	if l.hard <= 0 {
		return false
	}
	pending := int64(len(c.w.B))
	if c.x.out != nil {
		pending += int64(c.x.out.pending())
	}
	if pending < l.hard {
		return false
	}
	line := strings.TrimRight(string(c.infoLine(nil, nil, time.Now())), "\n")
	s.log.Warn("Client " + line + " scheduled to be closed ASAP for overcoming of output buffer limits.")
	c.w.B = c.w.B[:0]
	c.flags |= clientCloseASAP
	// Gone from CLIENT LIST at once: Redis frees such a client before
	// it serves anyone else, while this goroutine may still be closing.
	delete(s.clients, c.id)
	return true
}

package cluster

import (
	"bytes"
	"strconv"

	"github.com/skiffdb/skiff/slots"
)

// Query describes a command (or a whole MULTI/EXEC) for Redirect.
type Query struct {
	// Keys are every key of the command, or of every queued command of
	// an EXEC, in order (duplicates allowed).
	Keys [][]byte
	// Write: the command, or any queued command of an EXEC, writes.
	Write bool
	// Asking: the client sent ASKING just before (or the command is
	// RESTORE-ASKING).
	Asking bool
	// ReadOnly: the client sent READONLY.
	ReadOnly bool
	// Migrate: the command is MIGRATE (always served locally when the
	// slot is open).
	Migrate bool
	// PubSubShard: SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH (channels as keys:
	// no key lookups, replicas serve them without READONLY).
	PubSubShard bool
	// Exists reports whether a key exists (and is not expired) in db 0;
	// only called for a slot being migrated or imported.
	Exists func(key []byte) bool
	// Down: the cluster state is fail. AllowReadsWhenDown is
	// cluster-allow-reads-when-down, AllowPubSubShardWhenDown
	// cluster-allow-pubsubshard-when-down.
	Down, AllowReadsWhenDown, AllowPubSubShardWhenDown bool
	// Endpoint is cluster-preferred-endpoint-type: what MOVED and ASK
	// name.
	Endpoint Endpoint
}

// Redirection error texts (without the leading '-').
const (
	ErrCrossSlot    = "CROSSSLOT Keys in request don't hash to the same slot"
	ErrTryAgain     = "TRYAGAIN Multiple keys request during rehashing of slot"
	ErrDown         = "CLUSTERDOWN The cluster is down"
	ErrDownReadOnly = "CLUSTERDOWN The cluster is down and only accepts read commands"
	ErrUnbound      = "CLUSTERDOWN Hash slot not served"
)

// Moved formats a MOVED redirection to n's preferred endpoint ("MOVED
// slot ip:port"; the hostname, or "?" when n has none, with
// EndpointHostname; an empty host with EndpointUnknown), as Redis's
// clusterRedirectClient.
func Moved(slot int, n *NodeInfo, ep Endpoint) string { return redir("MOVED ", slot, n, ep) }

// Ask formats an ASK redirection (as Moved).
func Ask(slot int, n *NodeInfo, ep Endpoint) string { return redir("ASK ", slot, n, ep) }

func redir(kind string, slot int, n *NodeInfo, ep Endpoint) string {
	b := make([]byte, 0, 48)
	b = append(b, kind...)
	b = strconv.AppendInt(b, int64(slot), 10)
	b = append(b, ' ')
	b = append(b, n.PreferredEndpoint(ep)...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n.Port), 10)
	return string(b)
}

// Redirect decides whether this node serves q, as Redis's getNodeByQuery
// and clusterRedirectClient do: "" means serve it here, otherwise the
// error reply to send (MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN).
// A query without keys is always served.
func (v *View) Redirect(q *Query) string {
	var first []byte
	slot := -1
	var n *NodeInfo
	multiple := false
	migrating, importing := false, false
	missing, existing := 0, 0
	for _, k := range q.Keys {
		ks := slots.KeySlot(k)
		if first == nil {
			first = k
			slot = ks
			n = v.Owner[slot]
			if n == nil {
				return ErrUnbound
			}
			if n == v.Self && v.Migrating[slot] != nil {
				migrating = true
			} else if v.Importing[slot] != nil {
				importing = true
			}
		} else if !bytes.Equal(first, k) {
			if ks != slot {
				return ErrCrossSlot
			}
			multiple = true
		}
		if (migrating || importing) && !q.PubSubShard {
			if q.Exists != nil && q.Exists(k) {
				existing++
			} else {
				missing++
			}
		}
	}
	if n == nil {
		return ""
	}
	if q.Down {
		switch {
		case q.PubSubShard:
			if !q.AllowPubSubShardWhenDown {
				return ErrDown
			}
		case !q.AllowReadsWhenDown:
			return ErrDown
		case q.Write:
			return ErrDownReadOnly
		}
	}
	if (migrating || importing) && q.Migrate {
		return ""
	}
	if migrating && missing > 0 {
		if existing > 0 {
			return ErrTryAgain
		}
		return Ask(slot, v.Migrating[slot], q.Endpoint)
	}
	if importing && q.Asking {
		if multiple && missing > 0 {
			return ErrTryAgain
		}
		return ""
	}
	if (q.ReadOnly || q.PubSubShard) && !q.Write && !v.Self.Master && v.Self.MasterID == n.ID {
		return ""
	}
	if n != v.Self {
		return Moved(slot, n, q.Endpoint)
	}
	return ""
}

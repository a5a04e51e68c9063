package faults

// Checking a run's history.
//
// Register (per key, porcupine): state = the value ("" = no key).
//   get -> v        legal iff state == v
//   set v (ok)      state := v
//   cas r->n ok     legal iff state == r; state := n
//   cas aborted     no effect (EXEC's nil reply: nothing was executed)
//   set/cas info    unknown outcome: the op is given a return time after
//                   every other op (porcupine's way for a crashed op, as
//                   Jepsen's :info), and its effect is applied where it is
//                   linearized (cas only if state == r). Since it may be
//                   linearized after everything else, "took effect" and
//                   "did not" are both covered.
//   failed reads and writes with no effect are left out.
//
// Counter (per key): acked = INCRs with a reply, info = INCRs of unknown
// outcome, F = final value (nil = 0). Increments that took effect are
// acked' + info' (those of each that did), so F = acked' + info'.
//   lost          = max(0, acked - F)                 (certainly lost)
//   possibly lost = min(acked, max(0, acked + info - F))
//   excess        = max(0, F - acked - info)           (impossible: an anomaly)
//   duplicates    = acked INCRs whose reply another acked INCR also got
//                   (impossible for a linearizable counter: an anomaly)
// Set and list (per key): lost = acked elements missing from the final
// read; unexpected = elements in the final read never written (ok or
// info); list duplicates = elements present twice. The last two are
// anomalies.

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
)

type regInput struct {
	F    string // get, set, cas
	Arg  string
	Arg2 string
}

type regOutput struct {
	Value   string // get
	Aborted bool   // cas aborted
	Unknown bool   // info
}

var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st := state.(string)
		in := input.(regInput)
		out := output.(regOutput)
		switch in.F {
		case "get":
			return out.Value == st, st
		case "set":
			return true, in.Arg
		case "cas":
			if out.Aborted {
				return true, st
			}
			if out.Unknown {
				if st == in.Arg {
					return true, in.Arg2
				}
				return true, st
			}
			return st == in.Arg, in.Arg2
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		out := output.(regOutput)
		q := func(s string) string {
			if s == "" {
				return "nil"
			}
			return strconv.Quote(s)
		}
		switch in.F {
		case "get":
			return "get() -> " + q(out.Value)
		case "set":
			if out.Unknown {
				return "set(" + q(in.Arg) + ") -> unknown"
			}
			return "set(" + q(in.Arg) + ")"
		default:
			r := "ok"
			if out.Aborted {
				r = "aborted"
			} else if out.Unknown {
				r = "unknown"
			}
			return fmt.Sprintf("cas(%s -> %s) -> %s", q(in.Arg), q(in.Arg2), r)
		}
	},
	DescribeState: func(state any) string {
		if state.(string) == "" {
			return "nil"
		}
		return strconv.Quote(state.(string))
	},
}

// registerOps turns one key's register history into porcupine operations.
func registerOps(h []op) []porcupine.Operation {
	var end int64
	for _, o := range h {
		if o.Ret > end {
			end = o.Ret
		}
	}
	infinity := end + int64(time.Hour)
	var out []porcupine.Operation
	for _, o := range h {
		if o.Status == "fail" {
			continue
		}
		in := regInput{F: o.F, Arg: o.Arg, Arg2: o.Arg2}
		var res regOutput
		ret := o.Ret
		switch {
		case o.Status == "info":
			res.Unknown = true
			ret = infinity
		case o.F == "get":
			res.Value = o.Out
		case o.F == "cas" && o.Out == "aborted":
			res.Aborted = true
		}
		out = append(out, porcupine.Operation{ClientId: o.Client, Input: in, Call: o.Call, Output: res, Return: ret})
	}
	return out
}

// runCheck is what one run's history shows.
type runCheck struct {
	Ops           int            `json:"ops"`           // operations attempted (final reads excluded)
	OpsOK         int            `json:"ops_ok"`        // with a successful reply
	Info          int            `json:"info"`          // writes of unknown outcome
	AckedWrites   int            `json:"acked_writes"`  // counter, set, list writes acknowledged
	Lost          int            `json:"lost"`          // acknowledged writes certainly lost
	PossiblyLost  int            `json:"possibly_lost"` // counter: upper bound (set/list: = lost)
	Anomalies     int            `json:"anomalies"`     // excess, duplicates, unexpected elements
	Violations    int            `json:"violations"`    // register keys not linearizable
	CheckUnknown  int            `json:"check_unknown"` // register keys porcupine could not decide in time
	LostByKey     map[string]int `json:"lost_by_key,omitempty"`
	Notes         []string       `json:"notes,omitempty"`
	Visualization []string       `json:"visualization,omitempty"`
}

// check checks history h against the final reads; for a register key that
// is not linearizable it writes porcupine's HTML visualisation to outDir.
func check(h []op, final map[string][]string, outDir string, checkTimeout time.Duration) runCheck {
	var rc runCheck
	rc.LostByKey = map[string]int{}
	byKey := map[string][]op{}
	for _, o := range h {
		byKey[o.Key] = append(byKey[o.Key], o)
		if o.Final {
			continue
		}
		rc.Ops++
		switch o.Status {
		case "ok":
			rc.OpsOK++
			if o.Kind != "register" {
				rc.AckedWrites++
			}
		case "info":
			rc.Info++
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	note := func(format string, args ...any) { rc.Notes = append(rc.Notes, fmt.Sprintf(format, args...)) }
	for _, key := range keys {
		ops := byKey[key]
		vals, haveFinal := final[key]
		switch ops[0].Kind {
		case "register":
			pops := registerOps(ops)
			res, info := porcupine.CheckOperationsVerbose(registerModel, pops, checkTimeout)
			switch res {
			case porcupine.Illegal:
				rc.Violations++
				path := filepath.Join(outDir, "register-"+sanitize(key)+".html")
				if err := porcupine.VisualizePath(registerModel, info, path); err != nil {
					note("%s: not linearizable; visualisation failed: %v", key, err)
				} else {
					rc.Visualization = append(rc.Visualization, path)
					note("%s: not linearizable (%d ops), see %s", key, len(pops), path)
				}
			case porcupine.Unknown:
				rc.CheckUnknown++
				note("%s: porcupine gave up after %v (%d ops)", key, checkTimeout, len(pops))
			}
			if !haveFinal {
				note("%s: no final read", key)
			}
		case "counter":
			if !haveFinal {
				note("%s: no final read", key)
				continue
			}
			var acked, info int
			replies := map[string]int{}
			for _, o := range ops {
				switch o.Status {
				case "ok":
					acked++
					replies[o.Out]++
				case "info":
					info++
				}
			}
			f := 0
			if len(vals) == 1 && vals[0] != "" {
				n, err := strconv.Atoi(vals[0])
				if err != nil {
					note("%s: final value %q", key, vals[0])
					continue
				}
				f = n
			}
			lost := max(0, acked-f)
			rc.Lost += lost
			rc.PossiblyLost += min(acked, max(0, acked+info-f))
			if lost > 0 {
				rc.LostByKey[key] = lost
			}
			if ex := f - acked - info; ex > 0 {
				rc.Anomalies += ex
				note("%s: final %d > %d acked + %d unknown increments", key, f, acked, info)
			}
			dups := 0
			for _, n := range replies {
				dups += n - 1
			}
			if dups > 0 {
				rc.Anomalies += dups
				note("%s: %d acknowledged INCRs got a reply another acknowledged INCR also got", key, dups)
			}
			if lost > 0 {
				note("%s: final %d, %d acked, %d unknown: %d lost", key, f, acked, info, lost)
			}
		case "set", "list":
			if !haveFinal {
				note("%s: no final read", key)
				continue
			}
			present := map[string]int{}
			for _, v := range vals {
				present[v]++
			}
			written := map[string]bool{}
			lost := 0
			var example []string
			for _, o := range ops {
				if o.Status == "ok" || o.Status == "info" {
					written[o.Arg] = true
				}
				if o.Status == "ok" && present[o.Arg] == 0 {
					lost++
					if len(example) < 5 {
						example = append(example, o.Arg)
					}
				}
			}
			rc.Lost += lost
			rc.PossiblyLost += lost
			if lost > 0 {
				rc.LostByKey[key] = lost
				note("%s: %d acknowledged elements missing from the final read, e.g. %v", key, lost, example)
			}
			for v, n := range present {
				if !written[v] {
					rc.Anomalies++
					note("%s: element %q in the final read was never written", key, v)
				}
				if n > 1 {
					rc.Anomalies += n - 1
					note("%s: element %q present %d times", key, v, n)
				}
			}
		}
	}
	return rc
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

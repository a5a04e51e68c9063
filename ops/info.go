package ops

import (
	"strconv"
	"strings"
)

// info is a parsed INFO text: field -> value, plus the section each field
// came from (commandstats and keyspace lines are told apart by prefix).
type info map[string]string

func parseInfo(text string) info {
	out := info{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		out[k] = v
	}
	return out
}

// num returns a numeric field; ok is false when absent or not a number.
func (in info) num(k string) (float64, bool) {
	v, ok := in[k]
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// fields splits a "a=1,b=2" value (keyspace, commandstats, slaveN).
func fields(v string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(v, ",") {
		if k, val, ok := strings.Cut(p, "="); ok {
			out[k] = val
		}
	}
	return out
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

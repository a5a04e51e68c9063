// Package latencymon is the latency monitor behind Redis's LATENCY
// command: named events (a command that ran long, an expire cycle, an AOF
// write...) each keep the latest HistoryLen samples, at most one per
// second, with the all-time maximum. It holds and renders the data only:
// deciding what to sample and when is the caller's business, and so is
// locking (a Monitor is not safe for concurrent use).
package latencymon

import (
	"sort"
	"strings"
)

// HistoryLen is how many samples an event keeps (Redis's LATENCY_TS_LEN).
const HistoryLen = 160

// Sample is one second's worst latency of an event.
type Sample struct {
	Time    int64 // unix seconds; 0 marks an unused slot
	Latency int64 // milliseconds
}

// series is one event's ring of samples: next is the slot the next new
// second goes to, so next-1 is the latest.
type series struct {
	samples [HistoryLen]Sample
	next    int
	max     int64
}

// Monitor holds every event that has had a sample since its last reset.
type Monitor struct {
	events map[string]*series
	order  []string // event names in creation order, for stable replies
}

// New returns an empty monitor.
func New() *Monitor { return &Monitor{events: map[string]*series{}} }

// Add records latency ms for event at unix second now. Samples of the
// same second merge into one that keeps the worst, so a burst of slow
// commands costs one slot.
func (m *Monitor) Add(event string, now, ms int64) {
	ts := m.events[event]
	if ts == nil {
		ts = &series{}
		m.events[event] = ts
		m.order = append(m.order, event)
	}
	if ms > ts.max {
		ts.max = ms
	}
	prev := &ts.samples[(ts.next+HistoryLen-1)%HistoryLen]
	if prev.Time == now {
		if ms > prev.Latency {
			prev.Latency = ms
		}
		return
	}
	ts.samples[ts.next] = Sample{Time: now, Latency: ms}
	ts.next = (ts.next + 1) % HistoryLen
}

// Reset drops the events named event (compared case-insensitively, as
// Redis does), or every event when all is true, and says how many went.
func (m *Monitor) Reset(event string, all bool) int {
	n := 0
	kept := m.order[:0]
	for _, name := range m.order {
		if all || strings.EqualFold(name, event) {
			delete(m.events, name)
			n++
			continue
		}
		kept = append(kept, name)
	}
	clear(m.order[len(kept):])
	m.order = kept
	return n
}

// Len is the number of events with data.
func (m *Monitor) Len() int { return len(m.events) }

// History returns event's samples, oldest first, and whether the event
// exists.
func (m *Monitor) History(event string) ([]Sample, bool) {
	ts := m.events[event]
	if ts == nil {
		return nil, false
	}
	return ts.history(), true
}

func (ts *series) history() []Sample {
	out := make([]Sample, 0, HistoryLen)
	for j := 0; j < HistoryLen; j++ {
		s := ts.samples[(ts.next+j)%HistoryLen]
		if s.Time != 0 {
			out = append(out, s)
		}
	}
	return out
}

// Latest is one row of LATENCY LATEST.
type Latest struct {
	Event   string
	Time    int64 // of the latest sample
	Latency int64 // the latest sample, ms
	Max     int64 // all-time high since the event's last reset, ms
}

// Latest returns the latest sample of every event, in creation order.
func (m *Monitor) Latest() []Latest {
	out := make([]Latest, 0, len(m.order))
	for _, name := range m.order {
		ts := m.events[name]
		last := ts.samples[(ts.next+HistoryLen-1)%HistoryLen]
		out = append(out, Latest{Event: name, Time: last.Time, Latency: last.Latency, Max: ts.max})
	}
	return out
}

// Events returns the names of the events with data, sorted.
func (m *Monitor) Events() []string {
	out := append([]string(nil), m.order...)
	sort.Strings(out)
	return out
}

// Stats summarises an event's history for the doctor.
type Stats struct {
	Samples     int
	Avg, MAD    int64 // ms; MAD is the mean absolute deviation from Avg
	Min, Max    int64 // ms, over the history
	Period      int64 // seconds from the oldest sample to now (at least 1)
	AllTimeHigh int64 // ms
}

// Analyze computes event's Stats at unix second now; an unknown event
// gives zeros.
func (m *Monitor) Analyze(event string, now int64) Stats {
	ts := m.events[event]
	if ts == nil {
		return Stats{}
	}
	st := Stats{AllTimeHigh: ts.max}
	var sum, oldest int64
	h := ts.history()
	for i, s := range h {
		if i == 0 || s.Latency < st.Min {
			st.Min = s.Latency
		}
		if s.Latency > st.Max {
			st.Max = s.Latency
		}
		sum += s.Latency
		if oldest == 0 || s.Time < oldest {
			oldest = s.Time
		}
	}
	st.Samples = len(h)
	if st.Samples == 0 {
		return st
	}
	st.Avg = sum / int64(st.Samples)
	st.Period = max(now-oldest, 1)
	var dev int64
	for _, s := range h {
		d := st.Avg - s.Latency
		if d < 0 {
			d = -d
		}
		dev += d
	}
	st.MAD = dev / int64(st.Samples)
	return st
}

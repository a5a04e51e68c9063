package latencymon

import (
	"fmt"
	"strings"
)

// Graph renders LATENCY GRAPH for event at unix second now: a title line,
// a rule, then the history as an ASCII sparkline 4 rows high, one column
// per sample (80 per block), each labelled vertically with how long ago it
// was (s, m, h or d). ok is false when the event has no samples.
func (m *Monitor) Graph(event string, now int64) (string, bool) {
	ts := m.events[event]
	if ts == nil {
		return "", false
	}
	h := ts.history()
	var lo, hi int64
	points := make([]point, 0, len(h))
	for i, s := range h {
		if i == 0 || s.Latency < lo {
			lo = s.Latency
		}
		if i == 0 || s.Latency > hi {
			hi = s.Latency
		}
		points = append(points, point{value: float64(s.Latency), label: agoLabel(now - s.Time)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s - high %d ms, low %d ms (all time high %d ms)\n", event, hi, lo, ts.max)
	b.WriteString(strings.Repeat("-", graphColumns))
	b.WriteByte('\n')
	renderSparkline(&b, points, graphColumns, graphRows)
	return b.String(), true
}

const (
	graphColumns = 80
	graphRows    = 4
)

// agoLabel is a sample's age in the largest unit that fits.
func agoLabel(secs int64) string {
	switch {
	case secs < 60:
		return fmt.Sprintf("%ds", secs)
	case secs < 3600:
		return fmt.Sprintf("%dm", secs/60)
	case secs < 86400:
		return fmt.Sprintf("%dh", secs/3600)
	default:
		return fmt.Sprintf("%dd", secs/86400)
	}
}

type point struct {
	value float64
	label string
}

// Each of a sparkline's rows resolves three levels: fill characters from
// low to high, and a full cell ('|') below the row holding a column's top.
const sparkFill = "_o#"

// renderSparkline draws points in blocks of columns. Values are scaled
// between the sequence's minimum and maximum into rows*3 steps; the rows
// are followed by one blank line and then the labels, written top-down,
// one character per line.
func renderSparkline(b *strings.Builder, points []point, columns, rows int) {
	if len(points) == 0 {
		return
	}
	lo, hi := points[0].value, points[0].value
	labels := false
	for _, p := range points {
		lo = min(lo, p.value)
		hi = max(hi, p.value)
		labels = labels || p.label != ""
	}
	for start := 0; start < len(points); start += columns {
		if start > 0 {
			b.WriteByte('\n')
		}
		renderBlock(b, points[start:min(start+columns, len(points))], lo, hi, rows, labels)
	}
}

func renderBlock(b *strings.Builder, pts []point, lo, hi float64, rows int, labels bool) {
	span := hi - lo
	if span == 0 {
		span = 1
	}
	levels := len(sparkFill) * rows
	line := make([]byte, len(pts))
	for row := 0; ; row++ {
		for i := range line {
			line[i] = ' '
		}
		more := false
		if row < rows {
			more = true
			for i, p := range pts {
				// Truncate the scaled value, then the ratio, as the
				// reference renderer does, so the same data draws the
				// same picture.
				step := int(float64(int((p.value-lo)*float64(levels))) / span)
				step = max(0, min(step, levels-1))
				idx := step - (rows-row-1)*len(sparkFill)
				switch {
				case idx >= 0 && idx < len(sparkFill):
					line[i] = sparkFill[idx]
				case idx >= len(sparkFill):
					line[i] = '|'
				}
			}
		} else if labels && row == rows {
			more = true // the blank line between the graph and its labels
		} else {
			at := row - rows - 1
			for i, p := range pts {
				if at < len(p.label) {
					more = true
					line[i] = p.label[at]
				}
			}
		}
		if !more {
			return
		}
		b.Write(line)
		b.WriteByte('\n')
	}
}

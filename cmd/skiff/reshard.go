package main

// skiff admin reshard | rebalance: redis-cli --cluster reshard/rebalance's
// plans, run as atomic slot migrations (internal/reshard,
// docs/slot-migration.md), with a progress bar on stderr.

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/internal/reshard"
)

const reshardUsage = `Usage:
  skiff admin reshard   --node H:P --to ID --slots N [--from ID,ID|all] [--yes]
  skiff admin rebalance --node H:P [--weight ID=W ...] [--use-empty-masters] [--threshold PCT] [--yes]

Plans the moves as redis-cli --cluster reshard / rebalance do and runs them
as atomic slot migrations (CLUSTER MIGRATESLOTS): clients see one MOVED per
slot, no ASK. --node is the RESP address of any node; --password (default
$SKIFF_PASSWORD) authenticates to the nodes. Without --yes the plan is
printed and nothing moves.
`

type weightFlag map[string]float64

func (w weightFlag) String() string { return "" }
func (w weightFlag) Set(v string) error {
	id, x, ok := strings.Cut(v, "=")
	f, err := strconv.ParseFloat(x, 64)
	if !ok || err != nil || f < 0 {
		return fmt.Errorf("want ID=WEIGHT, got %q", v)
	}
	w[id] = f
	return nil
}

func runReshard(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("skiff admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, reshardUsage) }
	node := fs.String("node", "127.0.0.1:6379", "RESP address of any node")
	password := fs.String("password", os.Getenv("SKIFF_PASSWORD"), "password of the nodes")
	to := fs.String("to", "", "reshard: the receiving master's id")
	from := fs.String("from", "all", "reshard: source master ids, comma-separated, or all")
	n := fs.Int("slots", 0, "reshard: how many slots to move")
	weights := weightFlag{}
	fs.Var(weights, "weight", "rebalance: a master's weight, ID=W (repeatable; default 1)")
	useEmpty := fs.Bool("use-empty-masters", false, "rebalance: masters without slots take part")
	threshold := fs.Float64("threshold", 2, "rebalance: act only when a master is off by more than this percent")
	yes := fs.Bool("yes", false, "run the plan (otherwise only print it)")
	timeout := fs.Duration("timeout", time.Hour, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := reshard.Dial(*node, *password, 5*time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "skiff admin %s: %v\n", cmd, err)
		return 1
	}
	masters, err := c.Masters(10 * time.Second)
	c.Close()
	if err != nil {
		fmt.Fprintf(stderr, "skiff admin %s: %v\n", cmd, err)
		return 1
	}
	var moves []reshard.Move
	if cmd == "reshard" {
		var srcs []string
		if *from != "all" {
			srcs = strings.Split(*from, ",")
		}
		if *to == "" || *n <= 0 {
			fmt.Fprint(stderr, reshardUsage)
			return 2
		}
		if moves, err = reshard.Reshard(masters, *to, srcs, *n); err != nil {
			fmt.Fprintf(stderr, "skiff admin reshard: %v\n", err)
			return 1
		}
	} else {
		moves = reshard.Rebalance(masters, weights, *useEmpty, *threshold)
	}
	total := 0
	for _, m := range moves {
		fmt.Fprintf(stdout, "move %d slots from %s to %s\n", len(m.Slots), m.From, m.To)
		total += len(m.Slots)
	}
	if total == 0 {
		fmt.Fprintln(stdout, "nothing to move")
		return 0
	}
	if !*yes {
		fmt.Fprintf(stdout, "%d slots in all; run again with --yes to move them\n", total)
		return 0
	}
	err = reshard.Run(masters, moves, *password, *timeout, func(p reshard.Progress) {
		const width = 40
		k := width * p.Done / max(p.Total, 1)
		fmt.Fprintf(stderr, "\r[%s%s] %d/%d slots  %s ", strings.Repeat("#", k), strings.Repeat(".", width-k),
			p.Done, p.Total, p.Elapsed.Round(100*time.Millisecond))
	})
	fmt.Fprintln(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "skiff admin %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "moved %d slots\n", total)
	return 0
}

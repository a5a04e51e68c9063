package fsm

// Atomic slot migration (docs/slot-migration.md): the data of the slots
// streams from the source master to the target outside the log; the log
// holds only the end of each job, one entry whichever way it ends:
//
//   - move-slots gives every slot of the job to the target at once, with a
//     new epoch, provided the source still owns all of them and the job was
//     not aborted;
//   - abort-slot-move records that the job will never move anything, unless
//     it already did.
//
// The first of the two to be applied wins and the other is refused, so the
// source (which holds the writes to the slots paused) and the target (which
// holds the copy) agree on the outcome by reading the log, whichever of
// them, or both, died or gave up meanwhile.

import "sort"

// Slot move outcomes, by job name.
const (
	SlotMoveDone    = "done"
	SlotMoveAborted = "aborted"
)

// maxSlotMoves bounds the outcomes the state remembers; the oldest go
// first (a job's two ends settle its outcome within seconds).
const maxSlotMoves = 1024

// SlotMoveOutcome is the recorded end of one job.
type SlotMoveOutcome struct {
	Job     string `json:"job"`
	Outcome string `json:"outcome"`
	Index   uint64 `json:"index"`
}

// MoveSlots moves slots from Source to Target: the flip of an atomic slot
// migration. All or nothing.
type MoveSlots struct {
	Job    string      `json:"job"`
	Source string      `json:"source"`
	Target string      `json:"target"`
	Ranges []SlotRange `json:"ranges"`
}

func (MoveSlots) Type() string { return "move-slots" }
func (MoveSlots) Version() int { return 1 }
func (c *MoveSlots) apply(s *State, idx uint64) (Result, error) {
	if c.Job == "" {
		return refuse(c, "no job name")
	}
	switch s.SlotMoves[c.Job].Outcome {
	case SlotMoveAborted:
		return refuse(c, "slot migration %s was aborted", c.Job)
	case SlotMoveDone:
		return refuse(c, "slot migration %s already moved its slots", c.Job)
	}
	t, ok := s.Nodes[c.Target]
	if !ok {
		return refuse(c, "unknown node %s", c.Target)
	}
	if t.Role != RoleMaster {
		return refuse(c, "Target node is not a master")
	}
	if len(c.Ranges) == 0 {
		return refuse(c, "no slots given")
	}
	for _, r := range c.Ranges {
		if err := r.valid(); err != nil {
			return refuse(c, "%v", err)
		}
		for i := r.Start; i <= r.End; i++ {
			if s.Slots[i] != c.Source {
				return refuse(c, "slot %d is not owned by %s", i, c.Source)
			}
		}
	}
	s.CurrentEpoch++
	t.ConfigEpoch = s.CurrentEpoch
	for _, r := range c.Ranges {
		for i := r.Start; i <= r.End; i++ {
			s.Slots[i] = c.Target
			delete(s.Migrating, i)
			delete(s.Importing, i)
			delete(s.ImportingBy, i)
		}
	}
	s.recordSlotMove(c.Job, SlotMoveDone, idx)
	return Result{Index: idx, Epoch: s.CurrentEpoch}, nil
}

// AbortSlotMove settles a job as never moving its slots. It is refused
// when the job already moved them.
type AbortSlotMove struct {
	Job string `json:"job"`
}

func (AbortSlotMove) Type() string { return "abort-slot-move" }
func (AbortSlotMove) Version() int { return 1 }
func (c *AbortSlotMove) apply(s *State, idx uint64) (Result, error) {
	if c.Job == "" {
		return refuse(c, "no job name")
	}
	switch s.SlotMoves[c.Job].Outcome {
	case SlotMoveDone:
		return refuse(c, "slot migration %s already moved its slots", c.Job)
	case SlotMoveAborted:
		return Result{Index: idx}, nil
	}
	s.recordSlotMove(c.Job, SlotMoveAborted, idx)
	return Result{Index: idx}, nil
}

func (s *State) recordSlotMove(job, outcome string, idx uint64) {
	s.SlotMoves[job] = SlotMoveOutcome{Job: job, Outcome: outcome, Index: idx}
	if len(s.SlotMoves) <= maxSlotMoves {
		return
	}
	oldest := ""
	for k, v := range s.SlotMoves {
		if oldest == "" || v.Index < s.SlotMoves[oldest].Index {
			oldest = k
		}
	}
	delete(s.SlotMoves, oldest)
}

// SlotMoveOutcome returns how a job ended ("" while it has not).
func (f *FSM) SlotMoveOutcome(job string) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state.SlotMoves[job].Outcome
}

func exportSlotMoves(s *State) []SlotMoveOutcome {
	out := make([]SlotMoveOutcome, 0, len(s.SlotMoves))
	for _, v := range s.SlotMoves {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

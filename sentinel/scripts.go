package sentinel

// scriptQueue runs notification-script and client-reconfig-script
// (placeholder until scripts are implemented).
type scriptQueue struct{ e *Engine }

func newScriptQueue(e *Engine) *scriptQueue { return &scriptQueue{e: e} }

// schedule queues one run of path with args.
func (q *scriptQueue) schedule(path string, args ...string) {}

// running and queued are INFO's sentinel_running_scripts and
// sentinel_scripts_queue_length.
func (q *scriptQueue) counts() (running, queued int) { return 0, 0 }

// Package faults is Skiff's fault-injection suite (issue #13): real
// processes (skiff server / skiff sentinel, or redis-server /
// redis-sentinel) in a sentinel or cluster topology, concurrent go-redis
// clients running register, counter, set and list workloads, and a seeded
// schedule of faults (kill -9 and restart, SIGSTOP/SIGCONT, network
// partitions through internal/netfault's proxies). Each run's history is
// checked: linearizability of the register with porcupine, acknowledged
// writes lost for the counter, the set and the list. See docs/faults.md.
//
// Everything is in the package's tests; `make faults` runs the long batch.
package faults

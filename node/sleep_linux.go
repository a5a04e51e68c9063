package node

import "syscall"

// sleepMicros sleeps like usleep(3): the Go timer would round short sleeps
// up to about a millisecond, which would make key-load-delay 100 ten times
// slower than in Redis.
func sleepMicros(usec int64) {
	ts := syscall.NsecToTimespec(usec * 1000)
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem
	}
}

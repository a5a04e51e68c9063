//go:build !linux

package node

import "time"

func sleepMicros(usec int64) { time.Sleep(time.Duration(usec) * time.Microsecond) }

package config

import "fmt"

// SetByServer records a value the server changed by itself, as Redis
// keeps such state in its configuration: REPLICAOF/SLAVEOF sets
// "replicaof", so that CONFIG GET and CONFIG REWRITE show the current
// master. The value is validated; immutability does not apply and no
// OnChange hook runs (the caller has already acted on the change).
func (c *Config) SetByServer(name, value string) error {
	o := Lookup(name)
	if o == nil {
		return fmt.Errorf("config: unknown option %s", name)
	}
	return c.set(o, value, false)
}

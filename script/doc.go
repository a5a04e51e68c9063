// Package script is Skiff's Lua engine: the sandboxed gopher-lua states
// that run EVAL scripts and FUNCTION libraries with Redis 7.0's rules,
// the redis.* API, and the conversions between Lua values and RESP.
//
// The package knows nothing of the keyspace: a running script reaches
// the server only through the Caller of its Run, which executes one
// command and hands back its reply as RESP bytes (Redis's own design:
// the script is a client without a connection). The node package owns
// locking, propagation and the commands; this package owns Lua.
package script

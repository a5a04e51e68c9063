package node

// redisCommandInfo is what Skiff knows of a Redis 7.0 command from
// redis-server's COMMAND reply (redis70_commands.go, generated).
type redisCommandInfo struct {
	categories []string
	noAuth     bool
	specs      []keySpec
	subs       []string
}

package config

// `consistency strong` (docs/consistency.md). The mode is fixed at start:
// switching a running master between modes would change what its past
// acknowledgements meant.
func init() {
	Register(
		Option{Name: "consistency", Kind: KindEnum, Default: "async", Enum: []string{"async", "strong"}, Immutable: true},
		// The lease a master holds from the Raft leader. Every member of
		// a group must use the same value: a new leader waits out its
		// predecessor's leases with its own.
		Option{Name: "consistency-lease-ms", Kind: KindInt, Default: "1000", Min: 100, Max: 60000, Immutable: true},
		// How long an in-sync replica may stay silent or behind before the
		// master asks the group to drop it from the in-sync set (writes
		// wait for it until then).
		Option{Name: "consistency-isr-timeout-ms", Kind: KindInt, Default: "1000", Min: 50, Max: 60000},
	)
}

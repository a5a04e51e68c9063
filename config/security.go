package config

import "errors"

// MinClusterSecretLen is the shortest cluster-secret accepted. Anyone who
// can watch the raft port sees nonces and HMACs and can test guesses
// offline, so a short secret would be found; 16 characters of a random
// string put that out of reach.
const MinClusterSecretLen = 16

// The raft port's shared secret (docs/security.md, package raftauth).
// Every member of a group needs the same value. It is hidden from
// CONFIG GET patterns and fixed at start: a member that changed it alone
// would be cut off from its group.
func init() {
	Register(Option{Name: "cluster-secret", Kind: KindString, Default: "", Immutable: true, Hidden: true,
		Parse: func(v string) (string, error) {
			if v != "" && len(v) < MinClusterSecretLen {
				return "", errors.New("cluster-secret must be at least 16 characters (or empty for loopback-only raft)")
			}
			return v, nil
		}})
}

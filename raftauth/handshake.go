// Package raftauth gates the Raft port: before a single Raft RPC byte is
// read or written, both ends of a connection prove to each other that they
// know the group's shared secret (`cluster-secret`). hashicorp/raft decodes
// whatever arrives on its port with msgpack and applies what a leader sends,
// so a connection that has not proved the secret must never reach it.
//
// The proof is an HMAC-SHA256 challenge/response in both directions over
// fresh random nonces; the secret itself never crosses the wire. Every
// message has a fixed size, so nothing a peer sends can make this package
// allocate more than a few dozen bytes, and every read runs under a
// deadline.
//
// With no secret configured the same exchange runs with an empty key, which
// proves nothing; the stream layer then accepts and dials only loopback
// peers (see StreamLayer). docs/security.md has the threat model.
package raftauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// Protocol version 1. The magic strings make a non-Skiff client (or an
// older Skiff that speaks raft RPCs straight away) fail on its first bytes
// with a clear log line instead of a MAC mismatch.
const (
	version   = 1
	nonceLen  = 32
	macLen    = sha256.Size
	helloLen  = 4 + 1 + 1 + nonceLen          // magic, version, flags, client nonce
	chalLen   = 4 + 1 + 1 + nonceLen + macLen // magic, version, status, server nonce, server proof
	proofLen  = 4 + macLen                    // magic, client proof
	resultLen = 4 + 1                         // magic, status
)

var (
	magicHello  = []byte("SKRH")
	magicChal   = []byte("SKRC")
	magicProof  = []byte("SKRP")
	magicResult = []byte("SKRR")

	// The two proofs use different labels so that a proof obtained from a
	// server (which answers anyone's hello) can never be replayed as a
	// client's proof, to that server or to another member.
	labelServer = []byte("skiff raft server proof v1\x00")
	labelClient = []byte("skiff raft client proof v1\x00")
)

// Status codes a server sends in its challenge and in its final result.
const (
	statusOK = iota
	// statusLoopbackOnly: the server has no cluster-secret and the client
	// is not on loopback.
	statusLoopbackOnly
	// statusBadProof: the client's proof did not match the server's secret.
	statusBadProof
	// statusBadVersion: the client speaks a protocol version this server
	// does not know.
	statusBadVersion
)

// Errors a handshake ends with; callers wrap them with the peer's address.
var (
	ErrNotHandshake   = errors.New("not a Skiff raft handshake (a client that is not Skiff, or a Skiff older than the raft handshake)")
	ErrBadVersion     = errors.New("unsupported raft handshake version")
	ErrBadProof       = errors.New("peer's proof does not match this node's cluster-secret (the two nodes have different secrets, or one has none)")
	ErrLoopbackOnly   = errors.New("no cluster-secret configured: raft peers are accepted only from loopback")
	ErrRefused        = errors.New("peer refused the handshake")
	ErrPeerHungUp     = errors.New("peer hung up after our challenge: its cluster-secret differs from ours (or one side has none)")
	ErrPeerBadSecret  = errors.New("peer refused our proof: its cluster-secret differs from ours (or one side has none)")
	ErrPeerLoopback   = errors.New("peer has no cluster-secret and accepts raft connections only from loopback")
	ErrPeerOldVersion = errors.New("peer does not support this raft handshake version")
)

// hello is the client's first message.
type hello struct {
	version byte
	flags   byte
	nonce   [nonceLen]byte
}

func (h hello) encode() []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, magicHello...)
	b = append(b, h.version, h.flags)
	return append(b, h.nonce[:]...)
}

// decodeHello parses a client hello. The version is returned even when it
// is not ours so the server can say so.
func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) != helloLen || !bytes.Equal(b[:4], magicHello) {
		return h, ErrNotHandshake
	}
	h.version, h.flags = b[4], b[5]
	copy(h.nonce[:], b[6:])
	return h, nil
}

// challenge is the server's answer to a hello: its nonce and its proof.
type challenge struct {
	version byte
	status  byte
	nonce   [nonceLen]byte
	mac     [macLen]byte
}

func (c challenge) encode() []byte {
	b := make([]byte, 0, chalLen)
	b = append(b, magicChal...)
	b = append(b, c.version, c.status)
	b = append(b, c.nonce[:]...)
	return append(b, c.mac[:]...)
}

func decodeChallenge(b []byte) (challenge, error) {
	var c challenge
	if len(b) != chalLen || !bytes.Equal(b[:4], magicChal) {
		return c, ErrNotHandshake
	}
	c.version, c.status = b[4], b[5]
	copy(c.nonce[:], b[6:6+nonceLen])
	copy(c.mac[:], b[6+nonceLen:])
	return c, nil
}

func encodeProof(mac [macLen]byte) []byte {
	b := make([]byte, 0, proofLen)
	b = append(b, magicProof...)
	return append(b, mac[:]...)
}

func decodeProof(b []byte) ([macLen]byte, error) {
	var m [macLen]byte
	if len(b) != proofLen || !bytes.Equal(b[:4], magicProof) {
		return m, ErrNotHandshake
	}
	copy(m[:], b[4:])
	return m, nil
}

func encodeResult(status byte) []byte {
	return append(append(make([]byte, 0, resultLen), magicResult...), status)
}

func decodeResult(b []byte) (byte, error) {
	if len(b) != resultLen || !bytes.Equal(b[:4], magicResult) {
		return 0, ErrNotHandshake
	}
	return b[4], nil
}

// proof is HMAC-SHA256(secret, label || client nonce || server nonce).
// Both nonces are in every proof, so a proof is good for one connection.
func proof(secret, label []byte, cn, sn *[nonceLen]byte) [macLen]byte {
	m := hmac.New(sha256.New, secret)
	m.Write(label)
	m.Write(cn[:])
	m.Write(sn[:])
	var out [macLen]byte
	copy(out[:], m.Sum(nil))
	return out
}

// readMsg reads exactly n bytes; the caller has set a deadline.
func readMsg(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// serverHandshake runs the accepting side on rw. trusted says whether the
// peer may be served without a secret (it is on loopback, or the layer
// below authenticated it); rnd supplies the nonce. It returns nil
// only when the client proved the secret (and, with no secret, is on
// loopback). On refusal it tells the client why before returning, so the
// operator of the other node sees the reason in its own log too.
func serverHandshake(rw io.ReadWriter, secret []byte, trusted bool, rnd io.Reader) error {
	b, err := readMsg(rw, helloLen)
	if err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	h, err := decodeHello(b)
	if err != nil {
		return err
	}
	c := challenge{version: version, status: statusOK}
	switch {
	case h.version != version:
		c.status = statusBadVersion
	case len(secret) == 0 && !trusted:
		c.status = statusLoopbackOnly
	}
	if c.status != statusOK {
		// A refusal carries no nonce or proof: nothing about the secret
		// is given to a peer that cannot be served anyway.
		_, _ = rw.Write(c.encode())
		if c.status == statusBadVersion {
			return fmt.Errorf("%w %d (this node speaks %d)", ErrBadVersion, h.version, version)
		}
		return ErrLoopbackOnly
	}
	if _, err := io.ReadFull(rnd, c.nonce[:]); err != nil {
		return fmt.Errorf("server nonce: %w", err)
	}
	c.mac = proof(secret, labelServer, &h.nonce, &c.nonce)
	if _, err := rw.Write(c.encode()); err != nil {
		return fmt.Errorf("write challenge: %w", err)
	}
	b, err = readMsg(rw, proofLen)
	if errors.Is(err, io.EOF) {
		// A Skiff client checks our proof first and hangs up when it
		// does not match its own secret.
		return ErrPeerHungUp
	}
	if err != nil {
		return fmt.Errorf("read proof: %w", err)
	}
	got, err := decodeProof(b)
	if err != nil {
		return err
	}
	want := proof(secret, labelClient, &h.nonce, &c.nonce)
	if !hmac.Equal(got[:], want[:]) {
		_, _ = rw.Write(encodeResult(statusBadProof))
		return ErrBadProof
	}
	if _, err := rw.Write(encodeResult(statusOK)); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// clientHandshake runs the dialling side on rw. It checks the server's
// proof before sending its own, so a server that does not know the secret
// learns nothing it could use, and the client never sends raft RPCs (which
// may carry log entries) to an impostor.
func clientHandshake(rw io.ReadWriter, secret []byte, rnd io.Reader) error {
	h := hello{version: version}
	if _, err := io.ReadFull(rnd, h.nonce[:]); err != nil {
		return fmt.Errorf("client nonce: %w", err)
	}
	if _, err := rw.Write(h.encode()); err != nil {
		return fmt.Errorf("write hello: %w", err)
	}
	b, err := readMsg(rw, chalLen)
	if err != nil {
		if errors.Is(err, io.EOF) {
			// Closed before a single byte: the server dropped us
			// (too many pending handshakes, or not a Skiff port).
			return fmt.Errorf("%w: closed before answering", ErrRefused)
		}
		return fmt.Errorf("read challenge: %w", err)
	}
	c, err := decodeChallenge(b)
	if err != nil {
		return err
	}
	switch c.status {
	case statusOK:
	case statusLoopbackOnly:
		return ErrPeerLoopback
	case statusBadVersion:
		return ErrPeerOldVersion
	default:
		return fmt.Errorf("%w (status %d)", ErrRefused, c.status)
	}
	want := proof(secret, labelServer, &h.nonce, &c.nonce)
	if !hmac.Equal(c.mac[:], want[:]) {
		return ErrBadProof
	}
	if _, err := rw.Write(encodeProof(proof(secret, labelClient, &h.nonce, &c.nonce))); err != nil {
		return fmt.Errorf("write proof: %w", err)
	}
	b, err = readMsg(rw, resultLen)
	if err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	st, err := decodeResult(b)
	if err != nil {
		return err
	}
	switch st {
	case statusOK:
		return nil
	case statusBadProof:
		return ErrPeerBadSecret
	default:
		return fmt.Errorf("%w (status %d)", ErrRefused, st)
	}
}

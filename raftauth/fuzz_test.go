package raftauth

import (
	"bytes"
	"io"
	"testing"
)

// pipeRW reads a fuzzer's bytes as the peer's messages and discards what we
// send back.
type pipeRW struct {
	io.Reader
	out bytes.Buffer
}

func (p *pipeRW) Write(b []byte) (int, error) { return p.out.Write(b) }

// seeds are well-formed messages, their truncations and a raw raft RPC
// header, which is what a client that skips the handshake sends.
func seeds(f *testing.F) {
	var n [nonceLen]byte
	for i := range n {
		n[i] = byte(i)
	}
	var m [macLen]byte
	h := hello{version: version, nonce: n}.encode()
	c := challenge{version: version, nonce: n, mac: m}.encode()
	p := encodeProof(m)
	r := encodeResult(statusOK)
	for _, b := range [][]byte{h, c, p, r, h[:10], c[:5], nil,
		append(append([]byte{}, h...), p...),
		hello{version: 9, nonce: n}.encode(),
		challenge{version: version, status: statusLoopbackOnly}.encode(),
		append([]byte{0, 0x85, 0xa4}, []byte("Term")...),
		bytes.Repeat([]byte{0xff}, 200)} {
		f.Add(b)
	}
}

// FuzzDecode: no input makes a decoder panic, and what decodes re-encodes
// to the same bytes (nothing is silently dropped or invented).
func FuzzDecode(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := decodeHello(b); err == nil && !bytes.Equal(h.encode(), b) {
			t.Fatalf("hello round trip: %x -> %x", b, h.encode())
		}
		if c, err := decodeChallenge(b); err == nil && !bytes.Equal(c.encode(), b) {
			t.Fatalf("challenge round trip: %x -> %x", b, c.encode())
		}
		if m, err := decodeProof(b); err == nil && !bytes.Equal(encodeProof(m), b) {
			t.Fatalf("proof round trip: %x", b)
		}
		if s, err := decodeResult(b); err == nil && !bytes.Equal(encodeResult(s), b) {
			t.Fatalf("result round trip: %x", b)
		}
	})
}

// FuzzServerHandshake: whatever a client sends, without the secret it is
// never accepted (the server's nonce is fresh, so no fixed input can carry
// a valid proof), and the server writes at most one challenge and one
// result: it never echoes or grows with the input.
func FuzzServerHandshake(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, trusted := range []bool{false, true} {
			rw := &pipeRW{Reader: bytes.NewReader(b)}
			if err := serverHandshake(rw, []byte("secret"), trusted, randReader()); err == nil {
				t.Fatalf("server accepted input %x without the secret", b)
			}
			if rw.out.Len() > chalLen+resultLen {
				t.Fatalf("server wrote %d bytes", rw.out.Len())
			}
		}
	})
}

// FuzzClientHandshake: whatever a server answers, a client never completes
// the handshake with a server that did not prove the secret.
func FuzzClientHandshake(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		rw := &pipeRW{Reader: bytes.NewReader(b)}
		if err := clientHandshake(rw, []byte("secret"), randReader()); err == nil {
			t.Fatalf("client accepted server input %x", b)
		}
		if rw.out.Len() > helloLen+proofLen {
			t.Fatalf("client wrote %d bytes", rw.out.Len())
		}
	})
}

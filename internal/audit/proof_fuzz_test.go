package audit

import (
	"encoding/json"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// FuzzOpenCheckpoint feeds arbitrary notes (checkpoint files given to `audit verify
// --checkpoint` come from outside) to OpenCheckpoint: it must never panic, and must never accept
// a note that is not exactly one this key signed.
func FuzzOpenCheckpoint(f *testing.F) {
	k, _, err := GenerateKeys(nil, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	good, err := SignCheckpoint(k.Signer, tlog.Tree{N: 7, Hash: tlog.RecordHash([]byte("x"))}, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Note)
	f.Add([]byte("go.sum database tree\n7\nAAAA\n\n— fuzz AAAA\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, msg []byte) {
		tree, _, err := OpenCheckpoint(msg, k.Verifier)
		if err != nil {
			return
		}
		if tree.N != 7 || tree.Hash != good.Root {
			t.Fatalf("accepted a note this key never signed: %q", msg)
		}
	})
}

// FuzzVerifyInclusion feeds arbitrary JSON proofs to VerifyInclusion: no panic, and nothing but
// a genuine proof of the one genuine entry passes.
func FuzzVerifyInclusion(f *testing.F) {
	k, _, err := GenerateKeys(nil, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	e := Entry{Seq: 0, Time: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), Action: ActionRead}
	data := e.AppendCanonical(nil)
	leaf := tlog.RecordHash(data)
	c, err := SignCheckpoint(k.Signer, tlog.Tree{N: 1, Hash: leaf}, e.Time)
	if err != nil {
		f.Fatal(err)
	}
	genuine := InclusionProof{Seq: 0, Data: string(data), LeafHash: leaf, TreeSize: 1, Root: leaf, Proof: []tlog.Hash{}, Checkpoint: string(c.Note)}
	b, _ := json.Marshal(genuine)
	f.Add(b)
	f.Add([]byte(`{"seq":-1,"tree_size":0,"proof":[]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p InclusionProof
		if json.Unmarshal(b, &p) != nil {
			return
		}
		if VerifyInclusion(p, k.Verifier) == nil && (p.Data != genuine.Data || p.Seq != 0 || p.TreeSize != 1) {
			t.Fatalf("accepted a forged proof: %s", b)
		}
	})
}

package audit

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

// InclusionProof proves that one entry is in the log as signed by a checkpoint. It is plain
// JSON (hashes in base64) so an auditor can check it with any RFC 6962 implementation:
// leaf = SHA-256(0x00 || data), then the audit path up to the root signed in Checkpoint.
type InclusionProof struct {
	Seq int64 `json:"seq"`
	// Data is the entry's canonical bytes, exactly as hashed.
	Data     string      `json:"data"`
	LeafHash tlog.Hash   `json:"leaf_hash"`
	TreeSize int64       `json:"tree_size"`
	Root     tlog.Hash   `json:"root"`
	Proof    []tlog.Hash `json:"proof"`
	// Checkpoint is the signed note of size TreeSize.
	Checkpoint string `json:"checkpoint"`
}

// ConsistencyProof proves that the tree of NewSize entries extends the tree of OldSize entries
// (RFC 6962 consistency proof): nothing signed earlier was changed or dropped.
type ConsistencyProof struct {
	OldSize int64       `json:"old_size"`
	OldRoot tlog.Hash   `json:"old_root"`
	NewSize int64       `json:"new_size"`
	NewRoot tlog.Hash   `json:"new_root"`
	Proof   []tlog.Hash `json:"proof"`
	// NewCheckpoint is the signed note of size NewSize.
	NewCheckpoint string `json:"new_checkpoint"`
}

// Prove returns the inclusion proof of entry seq in the latest checkpoint, signing a new
// checkpoint first when the entry is newer than the latest.
func (l *Log) Prove(ctx context.Context, seq int64) (InclusionProof, error) {
	if seq < 0 || seq >= l.Size() {
		return InclusionProof{}, citybrain.Errorf(citybrain.ENOTFOUND, "审计记录 %d 不存在 (audit entry %d not found)", seq, seq)
	}
	c, err := l.Latest()
	if err != nil || c.Size <= seq {
		if c, err = l.Checkpoint(ctx); err != nil {
			return InclusionProof{}, err
		}
	}
	recs, err := l.store.ReadAuditRecords(ctx, seq, 1)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("audit: prove: %w", err)
	}
	if len(recs) == 0 || recs[0].Seq != seq {
		return InclusionProof{}, citybrain.Errorf(citybrain.ENOTFOUND, "审计记录 %d 不存在 (audit entry %d not found)", seq, seq)
	}
	p, err := tlog.ProveRecord(c.Size, seq, l.hashReader(ctx))
	if err != nil {
		return InclusionProof{}, fmt.Errorf("audit: prove: %w", err)
	}
	return InclusionProof{Seq: seq, Data: string(recs[0].Data), LeafHash: tlog.RecordHash(recs[0].Data),
		TreeSize: c.Size, Root: c.Root, Proof: p, Checkpoint: string(c.Note)}, nil
}

// VerifyInclusion checks an inclusion proof: the checkpoint's signature with v, that it signs
// TreeSize and Root, that Data hashes to LeafHash and holds entry Seq, and the audit path.
func VerifyInclusion(p InclusionProof, v note.Verifier) error {
	tree, _, err := OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return err
	}
	if tree.N != p.TreeSize || tree.Hash != p.Root {
		return citybrain.Errorf(citybrain.EINVALID, "证明的树与签名检查点不符 (proof tree %d/%s is not the signed %d/%s)", p.TreeSize, p.Root, tree.N, tree.Hash)
	}
	data := []byte(p.Data)
	if h := tlog.RecordHash(data); h != p.LeafHash {
		return citybrain.Errorf(citybrain.EINVALID, "记录内容与叶哈希不符 (entry data does not hash to leaf_hash)")
	}
	if s, ok := seqOf(data); !ok || s != p.Seq {
		return citybrain.Errorf(citybrain.EINVALID, "记录序号与证明不符 (entry data is not entry %d)", p.Seq)
	}
	if err := tlog.CheckRecord(p.Proof, tree.N, tree.Hash, p.Seq, p.LeafHash); err != nil {
		return citybrain.Errorf(citybrain.EINVALID, "包含证明无效 (inclusion proof invalid): %v", err)
	}
	return nil
}

// ProveConsistency returns the proof that the latest checkpoint extends the tree of oldSize
// entries.
func (l *Log) ProveConsistency(ctx context.Context, oldSize int64) (ConsistencyProof, error) {
	c, err := l.Latest()
	if err != nil {
		return ConsistencyProof{}, err
	}
	if oldSize < 1 || oldSize > c.Size {
		return ConsistencyProof{}, citybrain.FieldError("old_size", "旧树大小须在 1 与 %d 之间 (old size must be between 1 and %d)", c.Size, c.Size)
	}
	r := l.hashReader(ctx)
	oldRoot, err := tlog.TreeHash(oldSize, r)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency: %w", err)
	}
	p, err := tlog.ProveTree(c.Size, oldSize, r)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency: %w", err)
	}
	return ConsistencyProof{OldSize: oldSize, OldRoot: oldRoot, NewSize: c.Size, NewRoot: c.Root, Proof: p, NewCheckpoint: string(c.Note)}, nil
}

// VerifyConsistency checks a consistency proof against a checkpoint note the caller already
// trusts (oldNote, of size p.OldSize) and the signed new checkpoint in the proof.
func VerifyConsistency(p ConsistencyProof, oldNote []byte, v note.Verifier) error {
	old, _, err := OpenCheckpoint(oldNote, v)
	if err != nil {
		return err
	}
	nw, _, err := OpenCheckpoint([]byte(p.NewCheckpoint), v)
	if err != nil {
		return err
	}
	if old.N != p.OldSize || old.Hash != p.OldRoot || nw.N != p.NewSize || nw.Hash != p.NewRoot {
		return citybrain.Errorf(citybrain.EINVALID, "证明与签名检查点不符 (proof sizes or roots differ from the signed checkpoints)")
	}
	if err := tlog.CheckTree(p.Proof, nw.N, nw.Hash, old.N, old.Hash); err != nil {
		return citybrain.Errorf(citybrain.EINVALID, "一致性证明无效 (consistency proof invalid): %v", err)
	}
	return nil
}

package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/citybrain/citybrain"
)

// DefaultKeyName names the signing key in checkpoint notes when the caller gives none.
const DefaultKeyName = "citybrain-audit"

// Keys is the checkpoint signing key pair.
type Keys struct {
	Signer   note.Signer
	Verifier note.Verifier
	// VerifierKey is the public key in note format ("name+hash+base64"): give it to auditors and
	// to `citybrain audit verify --key`.
	VerifierKey string
}

// GenerateKeys makes a new Ed25519 key pair named name (DefaultKeyName when empty), reading
// randomness from r (crypto/rand when nil). It returns the private key in note format too, for
// the caller to keep.
func GenerateKeys(r io.Reader, name string) (Keys, string, error) {
	if name == "" {
		name = DefaultKeyName
	}
	if r == nil {
		r = rand.Reader
	}
	skey, vkey, err := note.GenerateKey(r, name)
	if err != nil {
		return Keys{}, "", fmt.Errorf("audit: generate key: %w", err)
	}
	k, err := ParseKeys(skey, vkey)
	return k, skey, err
}

// ParseKeys builds Keys from the private and public key strings of note.GenerateKey.
func ParseKeys(skey, vkey string) (Keys, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return Keys{}, citybrain.Errorf(citybrain.EINVALID, "审计签名私钥无效 (bad audit signing key): %v", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return Keys{}, citybrain.Errorf(citybrain.EINVALID, "审计验证公钥无效 (bad audit verifier key): %v", err)
	}
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		return Keys{}, citybrain.Errorf(citybrain.EINVALID, "审计私钥与公钥不匹配 (signing and verifier keys do not match)")
	}
	return Keys{Signer: s, Verifier: v, VerifierKey: vkey}, nil
}

// NewVerifier parses a public key in note format.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, citybrain.Errorf(citybrain.EINVALID, "审计验证公钥无效 (bad audit verifier key): %v", err)
	}
	return v, nil
}

// LoadOrCreateKey reads the key file at path (two lines: private key, public key), creating it
// with a new key (mode 0600, and path+".pub" with the public key, mode 0644) when it does not
// exist. The caller keeps the file under its data directory; losing it means later checkpoints
// are signed by a new key, which Verify reports.
func LoadOrCreateKey(path, name string) (Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, skey, err := GenerateKeys(nil, name)
		if err != nil {
			return Keys{}, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return Keys{}, fmt.Errorf("audit: key dir: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return Keys{}, fmt.Errorf("audit: create key file: %w", err)
		}
		_, err = fmt.Fprintf(f, "%s\n%s\n", skey, k.VerifierKey)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return Keys{}, fmt.Errorf("audit: write key file: %w", err)
		}
		if err := os.WriteFile(path+".pub", []byte(k.VerifierKey+"\n"), 0o644); err != nil {
			return Keys{}, fmt.Errorf("audit: write public key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return Keys{}, fmt.Errorf("audit: read key file: %w", err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return Keys{}, citybrain.Errorf(citybrain.EINVALID, "审计密钥文件格式错误 (key file %s must hold two lines)", path)
	}
	return ParseKeys(lines[0], lines[1])
}

// ReadVerifierKey reads a public key from a file: a .pub file, or the key file itself (its
// second line).
func ReadVerifierKey(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil, citybrain.Errorf(citybrain.EINVALID, "审计公钥文件为空 (empty key file %s)", path)
	}
	return NewVerifier(f[len(f)-1])
}

// checkpointText is the signed text: tlog.FormatTree, then a time line (tlog.ParseTree ignores
// extra lines).
func checkpointText(tree tlog.Tree, t time.Time) string {
	return string(tlog.FormatTree(tree)) + "time " + t.UTC().Format(time.RFC3339Nano) + "\n"
}

// SignCheckpoint signs the tree with s at time t.
func SignCheckpoint(s note.Signer, tree tlog.Tree, t time.Time) (Checkpoint, error) {
	t = t.UTC().Truncate(time.Microsecond)
	msg, err := note.Sign(&note.Note{Text: checkpointText(tree, t)}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return Checkpoint{Size: tree.N, Root: tree.Hash, Time: t, Note: msg}, nil
}

// OpenCheckpoint verifies the signature of a checkpoint note with v and returns the signed tree
// and time. It ignores the unauthenticated copies in a Checkpoint: pass c.Note.
func OpenCheckpoint(msg []byte, v note.Verifier) (tlog.Tree, time.Time, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return tlog.Tree{}, time.Time{}, citybrain.Errorf(citybrain.EINVALID, "检查点签名无效 (checkpoint signature invalid): %v", err)
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil {
		return tlog.Tree{}, time.Time{}, citybrain.Errorf(citybrain.EINVALID, "检查点内容无效 (checkpoint text malformed): %v", err)
	}
	var t time.Time
	lines := strings.Split(n.Text, "\n")
	if len(lines) > 3 {
		if s, ok := strings.CutPrefix(lines[3], "time "); ok {
			t, _ = time.Parse(time.RFC3339Nano, s)
		}
	}
	return tree, t, nil
}

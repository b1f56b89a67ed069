// Package audit owns the platform's append-only, tamper-evident audit log (审计日志): who read,
// masked, denied or changed which data, for what purpose and when.
//
// # Structure
//
// Every [Entry] is encoded to canonical bytes ([Entry.AppendCanonical]: JSON with sorted keys,
// UTF-8, no insignificant white space, integers only) and becomes leaf number Seq of a Merkle tree
// in the RFC 6962 style, built with golang.org/x/mod/sumdb/tlog: the leaf hash is
// SHA-256(0x00 || bytes), an interior node SHA-256(0x01 || left || right). With each record the
// [Store] keeps the tlog "stored hashes" that record completes ([tlog.StoredHashes]), so inclusion
// proofs ([Log.Prove]) and consistency proofs ([Log.ProveConsistency]) read at most a few dozen
// hashes. Periodically (every [Config.CheckpointEvery] entries or [Config.CheckpointInterval])
// and on demand the [Log] signs a checkpoint: the text of [tlog.FormatTree] (size and root), signed
// as a golang.org/x/mod/sumdb/note with an Ed25519 key that the caller keeps ([LoadOrCreateKey]).
// A checkpoint is signed only after proving with [tlog.ProveTree] that it extends the previous one.
//
// [Verify] re-reads every record, recomputes every leaf and node hash, and compares the roots with
// every signed checkpoint (signature first). It names the first bad entry when any entry was
// changed, removed, inserted or reordered, and the first bad checkpoint when a signature is broken.
// Entries appended after the latest checkpoint ("the unsigned tail") are checked against their
// stored hashes only; the log signs a checkpoint at least every CheckpointInterval, and on Close,
// to keep that tail short.
//
// # Retention (留存)
//
// The Cybersecurity Law (网络安全法) art. 21 requires network logs to be kept for at least six
// months; [Config.Retention] defaults to [MinRetention] (183 days) and refuses anything shorter.
// Entries cannot be deleted from a Merkle log without breaking every later root, so retention
// means "kept at least this long": this package offers no way to delete or rewrite an entry and
// the [Store] contract has no delete. Should a deployment ever need to prune, the only sound
// way is by whole epochs: close an epoch at a signed checkpoint, archive its records, stored
// hashes and final checkpoint together (they remain verifiable offline with [Verify]), and only
// then, once every entry of the epoch is older than the retention period ([RetentionExpired]),
// drop it from the live store and start the next epoch's log from that checkpoint. The platform
// does not prune automatically.
//
// # Concurrency
//
// A [Log] is safe for concurrent use. [Log.Record] hands the entry to one writer goroutine through
// a bounded queue (it blocks when the queue is full: backpressure) and returns once the entry is
// durably stored; the writer commits whatever has queued up as one batch (group commit), so many
// concurrent callers share one storage transaction. Sequence numbers are assigned by the writer
// only, so the log has no gaps and no duplicates. Several processes (cluster nodes sharing one
// PostgreSQL database) may each run a Log over the same store if they share the signing key: a
// batch that loses the race for the next sequence number is renumbered and retried.
// [Verify] and the proof functions only read.
// A [MemStore] is safe for concurrent use; SQL stores implement the same [Store] contract.
package audit

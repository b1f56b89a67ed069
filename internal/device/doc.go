// Package device owns what the platform knows about the things it connects: the device profiles
// (types with their measurements, units, valid ranges, expected report interval, events and
// commands), the facilities devices are grouped under, the device registry (with the Repository
// it needs, implemented in SQL by internal/store), device credentials (random machine secrets
// stored as SHA-256 hashes, with an in-memory cache for the broker's authentication hot path),
// live device status (online/offline, last seen, battery, signal, silence) and the per-device
// quarantine of rejected messages.
//
// Concurrency: Profiles is immutable after construction and safe to share. Service,
// CredentialCache, StatusTracker and Quarantine are safe for concurrent use by many goroutines;
// the status tracker and quarantine are sharded so that devices do not contend with each other.
// The package holds no global mutable state and does not import net/http, database/sql or NATS.
package device

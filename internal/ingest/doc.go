// Package ingest is the platform's front door for device data. It decodes telemetry payloads
// (JSON objects of measurement → number, {"ts", "values"} entries, or arrays of them) and
// validates them against the device's profile; it runs the embedded MQTT broker
// (mochi-mqtt/server/v2) with device authentication, a per-device topic ACL, telemetry, events,
// status and command topics; and it holds the logic of the HTTP telemetry door, whose routes
// live in internal/httpapi.
//
// Durability: a reading is acknowledged (MQTT PUBACK, HTTP 2xx) only after the ReadingWriter's
// Append returned nil, which promises the reading survives kill -9. Writes go through a small
// pipeline: decoding happens on the connection's goroutine, then the message joins a shard queue
// (a device always maps to the same shard, so a client's PUBACKs leave in the order its PUBLISHes
// arrived); each shard appends everything queued in one call and then sends the
// acknowledgements. Full queues block the publishing connection (backpressure) instead of
// growing memory.
//
// Concurrency: Broker, Pipeline and HTTPDoor are safe for concurrent use. The package holds no
// global mutable state. As the broker adapter it may import network and metrics packages; its
// decoding and validation logic stays free of I/O.
package ingest

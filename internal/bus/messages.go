package bus

// Point is one reading in a TelemetryMsg.
type Point struct {
	M  string  `json:"m"`  // measurement key, e.g. "level_cm"
	TS int64   `json:"ts"` // epoch milliseconds
	V  float64 `json:"v"`
}

// TelemetryMsg is published on SubjectTelemetry+"."+Token(device) after the readings are stored.
type TelemetryMsg struct {
	Device   string  `json:"device"`
	Profile  string  `json:"profile"`
	Readings []Point `json:"readings"`
}

// EventMsg is published on SubjectEvents+"."+Token(device) after the event is stored.
type EventMsg struct {
	Device  string         `json:"device"`
	Profile string         `json:"profile"`
	Type    string         `json:"type"` // e.g. "smoke_alarm", "door_open", "motion"
	TS      int64          `json:"ts"`
	Data    map[string]any `json:"data,omitempty"`
}

// StatusMsg is published on SubjectStatus+"."+Token(device) when a device's status changes.
type StatusMsg struct {
	Device  string   `json:"device"`
	Profile string   `json:"profile"`
	Online  bool     `json:"online"`
	Silent  bool     `json:"silent,omitempty"` // no report for longer than the profile expects
	TS      int64    `json:"ts"`
	Battery *float64 `json:"battery,omitempty"`
	Signal  *float64 `json:"signal,omitempty"`
}

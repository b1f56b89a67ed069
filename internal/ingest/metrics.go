package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ingestion counters. Labels: transport mqtt|http; reason a device.Reason* code.
type metrics struct {
	messages *prometheus.CounterVec // transport, kind
	readings *prometheus.CounterVec // transport
	refused  *prometheus.CounterVec // transport, reason: whole messages, connections, ACL
	rejected *prometheus.CounterVec // reason: single values
	acks     prometheus.Counter

	mqttTelemetry prometheus.Counter
	mqttReadings  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citybrain_ingest_messages_total",
			Help: "Device messages received, by transport and kind (telemetry, event, command_ack, status, other)."}, []string{"transport", "kind"}),
		readings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citybrain_ingest_readings_total",
			Help: "Readings stored durably, by transport."}, []string{"transport"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citybrain_ingest_refused_total",
			Help: "Refused connections, topics and whole messages, by transport and reason."}, []string{"transport", "reason"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "citybrain_ingest_rejected_values_total",
			Help: "Single values refused inside otherwise accepted messages, by reason."}, []string{"reason"}),
		acks: prometheus.NewCounter(prometheus.CounterOpts{Name: "citybrain_ingest_mqtt_acks_total",
			Help: "MQTT PUBACKs sent after the durable write."}),
	}
	m.mqttTelemetry = m.messages.WithLabelValues("mqtt", "telemetry")
	m.mqttReadings = m.readings.WithLabelValues("mqtt")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.messages, m.readings, m.refused, m.rejected, m.acks} {
			_ = reg.Register(c) // a second broker in one process (tests) keeps its own counts
		}
	}
	return m
}

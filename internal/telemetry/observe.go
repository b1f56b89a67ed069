package telemetry

// Observe folds readings that another node of a cluster stored into this Service's latest
// values (Latest, LastSeen), so every node answers with the newest state whichever node
// ingested the readings. It stores nothing. Safe for concurrent use.
func (s *Service) Observe(rs []Reading) {
	s.updateLatest(rs)
}

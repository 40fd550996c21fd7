package config

// EventWorkersFor is STEEPLE_EVENT_WORKERS's setting, or when unset the
// backend's default: 4 on PostgreSQL, where each worker holds one of the
// server's budgeted connections while it applies and receipts mostly go
// to the church's drain; 16 on SQLite, where a connection costs a file
// handle and 4 workers let a Sunday's queued receipts wait 20 s to be
// picked up (0.2 s with 16, the same throughput; docs/benchmarks.md).
func EventWorkersFor(setting int, postgres bool) int {
	switch {
	case setting > 0:
		return setting
	case postgres:
		return 4
	}
	return 16
}

package store

import "context"

// AlertingDevices returns the devices that have a firing or acknowledged alert (for the map).
func (db *DB) AlertingDevices(ctx context.Context) (map[string]bool, error) {
	rows, err := db.Query(ctx, `SELECT DISTINCT device_id FROM alerts WHERE status IN ('firing', 'acknowledged') AND device_id <> ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

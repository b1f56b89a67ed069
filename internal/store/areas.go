package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/citybrain/citybrain"
	"github.com/citybrain/citybrain/internal/area"
)

var _ area.Repository = (*DB)(nil)

// areaBatch keeps a multi-row insert (9 columns) well under 30,000 bound values.
const areaBatch = 500

// Areas returns every stored area, widest level first, then by code.
func (db *DB) Areas(ctx context.Context) ([]area.Area, error) {
	rows, err := db.Query(ctx, `SELECT code, parent, level, name_zh, name_en, centroid_lon, centroid_lat, boundary FROM areas ORDER BY depth, code`)
	if err != nil {
		return nil, fmt.Errorf("areas: %w", err)
	}
	defer rows.Close()
	var out []area.Area
	for rows.Next() {
		var a area.Area
		var level, boundary string
		if err := rows.Scan(&a.Code, &a.Parent, &level, &a.NameZH, &a.NameEN, &a.Centroid[0], &a.Centroid[1], &boundary); err != nil {
			return nil, fmt.Errorf("areas: %w", err)
		}
		a.Level = area.Level(level)
		if err := json.Unmarshal([]byte(boundary), &a.Boundary); err != nil {
			return nil, fmt.Errorf("area %s: boundary: %w", a.Code, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ReplaceAreas deletes every stored area and inserts areas in one transaction, then
// records the replacement in area_sets; its id is the new version.
func (db *DB) ReplaceAreas(ctx context.Context, areas []area.Area, source string, at time.Time) (int64, error) {
	var version int64
	err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM areas`); err != nil {
			return fmt.Errorf("delete areas: %w", err)
		}
		for start := 0; start < len(areas); start += areaBatch {
			end := min(start+areaBatch, len(areas))
			args := make([]any, 0, (end-start)*9)
			for _, a := range areas[start:end] {
				b, err := json.Marshal(a.Boundary)
				if err != nil {
					return fmt.Errorf("area %s: boundary: %w", a.Code, err)
				}
				args = append(args, a.Code, a.Parent, string(a.Level), a.Level.Depth(), a.NameZH, a.NameEN, a.Centroid[0], a.Centroid[1], string(b))
			}
			if _, err := tx.Exec(ctx, `INSERT INTO areas (code, parent, level, depth, name_zh, name_en, centroid_lon, centroid_lat, boundary) VALUES `+
				Placeholders(end-start, 9), args...); err != nil {
				return fmt.Errorf("insert areas: %w", err)
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO area_sets (source, areas, loaded_at) VALUES (?, ?, ?) RETURNING id`,
			source, len(areas), Millis(at)).Scan(&version)
	})
	if IsUniqueViolation(err) {
		return 0, citybrain.Errorf(citybrain.ECONFLICT, "区域编码重复 / an area code appears twice; codes must be unique")
	}
	return version, err
}

// AreasVersion returns the id of the latest replacement, 0 when areas were never stored.
func (db *DB) AreasVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM area_sets`).Scan(&v); err != nil {
		return 0, fmt.Errorf("areas version: %w", err)
	}
	return v, nil
}

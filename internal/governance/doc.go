// Package governance owns data governance for citybrain: the classification (分类) and
// grading (分级) of every attribute following GB/T 43697-2024, the detection of personal
// information in columns and free text, the access decision for each reader and
// attribute (FULL, MASKED, AGGREGATE_ONLY or DENY), masking in the formats Chinese
// government systems use, keyed pseudonyms, small-cell-suppressed aggregates, and the
// enforcement helper that filters every record the platform returns.
//
// The package is pure: it imports neither net/http nor database/sql, holds no global
// mutable state and never reads the wall clock; callers pass the time in. Policies,
// maskers and detectors are immutable after construction and safe for concurrent use
// by any number of goroutines.
package governance

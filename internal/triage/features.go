package triage

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// gram is one feature occurrence: its hash and its byte span in the normalised text.
type gram struct {
	h    uint64
	s, e int32
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashBytes(kind byte, s string) uint64 {
	h := uint64(fnvOffset)
	h ^= uint64(kind)
	h *= fnvPrime
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// normalize folds full-width ASCII to half-width and upper case to lower case, so that
// "ＫＴＶ", "KTV" and "ktv" are one token.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if r < utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

func isWordRune(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
}

// extract appends the features of the normalised text t to buf: Han character uni-, bi-
// and trigrams within runs of Han characters (punctuation breaks a run), and ASCII words
// (numbers folded to one token). The result is deduplicated by hash, keeping the first span.
func extract(t string, buf []gram) []gram { return extractWith(t, buf, defaultFeatures()) }

// featureSet selects the n-gram kinds.
type featureSet struct{ uni, bi, tri, skip, four bool }

// defaultFeatures are the n-gram kinds the classifier uses: uni-, bi- and trigrams. Skip-
// bigrams and 4-grams were tried and did not help.
func defaultFeatures() featureSet { return featureSet{uni: true, bi: true, tri: true} }

func extractWith(t string, buf []gram, fset featureSet) []gram {
	out := buf[:0]
	var run [4]int32 // start offsets of the last four Han runes
	n := 0
	for i := 0; i < len(t); {
		r, size := utf8.DecodeRuneInString(t[i:])
		switch {
		case isHan(r):
			run[0], run[1], run[2], run[3] = run[1], run[2], run[3], int32(i)
			n++
			end := int32(i + size)
			if fset.uni {
				out = append(out, gram{hashBytes(1, t[i:end]), int32(i), end})
			}
			if n >= 2 && fset.bi {
				out = append(out, gram{hashBytes(2, t[run[2]:end]), run[2], end})
			}
			if n >= 3 && fset.tri {
				out = append(out, gram{hashBytes(3, t[run[1]:end]), run[1], end})
			}
			if n >= 3 && fset.skip {
				h := hashBytes(6, t[run[1]:run[2]])
				h ^= hashBytes(7, t[i:end])
				out = append(out, gram{h, run[1], end})
			}
			if n >= 4 && fset.four {
				out = append(out, gram{hashBytes(8, t[run[0]:end]), run[0], end})
			}
			i += size
		case isWordRune(r):
			n = 0
			j := i
			digits := true
			for j < len(t) && isWordRune(rune(t[j])) {
				if t[j] < '0' || t[j] > '9' {
					digits = false
				}
				j++
			}
			if digits {
				out = append(out, gram{hashBytes(5, "0"), int32(i), int32(j)})
			} else {
				out = append(out, gram{hashBytes(4, t[i:j]), int32(i), int32(j)})
			}
			i = j
		default:
			n = 0
			i += size
		}
	}
	if len(out) < 2 {
		return out
	}
	slices.SortFunc(out, func(a, b gram) int {
		if c := cmp.Compare(a.h, b.h); c != 0 {
			return c
		}
		return cmp.Compare(a.s, b.s)
	})
	k := 1
	for i := 1; i < len(out); i++ {
		if out[i].h != out[k-1].h {
			out[k] = out[i]
			k++
		}
	}
	return out[:k]
}

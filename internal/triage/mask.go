package triage

import (
	"strings"
	"unicode/utf8"
)

// Masker rewrites a text so that no personal data is left in it. Every text sent to a
// model passes through one first. The governance package supplies the full masker; the
// default one, DefaultMasker, masks what citizens most often type into reports.
type Masker func(string) string

// DefaultMasker masks 11-digit mainland mobile numbers (as [手机号]), 18-character
// resident ID numbers (as [身份证号]), 15-digit old ID numbers and e-mail addresses
// (as [邮箱]). Digit runs of other lengths (house numbers, dates, amounts) are kept.
func DefaultMasker(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if isDigit(c) {
			j := i
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			n := j - i
			end := j
			if n == 17 && j < len(s) && (s[j] == 'X' || s[j] == 'x') {
				n, end = 18, j+1
			}
			switch {
			case n == 11 && s[i] == '1' && s[i+1] >= '3' && s[i+1] <= '9':
				b.WriteString("[手机号]")
			case n == 18 || n == 15:
				b.WriteString("[身份证号]")
			default:
				b.WriteString(s[i:end])
			}
			i = end
			continue
		}
		if c == '@' {
			// Replace the local part already written and the domain.
			out := b.String()
			k := len(out)
			for k > 0 && isEmailLocal(out[k-1]) {
				k--
			}
			j := i + 1
			dot := false
			for j < len(s) && isEmailDomain(s[j]) {
				if s[j] == '.' {
					dot = true
				}
				j++
			}
			if k < len(out) && dot && j > i+2 {
				b.Reset()
				b.WriteString(out[:k])
				b.WriteString("[邮箱]")
				i = j
				continue
			}
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isEmailLocal(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '.' || c == '_' || c == '-' || c == '+'
}

func isEmailDomain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '.' || c == '-'
}

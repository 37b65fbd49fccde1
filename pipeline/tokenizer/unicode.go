package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Code point categories, as llama.cpp's unicode_cpt_flags: every code point
// has exactly one general category (\p{N}, \p{L}, \p{Z}, \p{M}, \p{P},
// \p{S}, or \p{C}, which includes unassigned code points), plus the
// whitespace property (Python regex \s, i.e. Unicode White_Space).
const (
	catNumber uint8 = 1 << iota
	catLetter
	catSeparator
	catMark
	catPunct
	catSymbol
	catControl
)

// flags is the classification of one code point; zero means "outside the
// text", as llama.cpp's default-constructed flags.
type flags struct {
	cat   uint8
	space bool
}

func (f flags) letter() bool { return f.cat == catLetter }
func (f flags) number() bool { return f.cat == catNumber }
func (f flags) any() bool    { return f.cat != 0 || f.space }

// classify returns the flags of r. Runes outside the Unicode range (used
// for invalid UTF-8 bytes) are control characters.
func classify(r rune) flags {
	var f flags
	switch {
	case r < 0 || r > unicode.MaxRune:
		f.cat = catControl
	case r < utf8.RuneSelf:
		f.cat = asciiCat[r]
	case unicode.IsLetter(r):
		f.cat = catLetter
	case unicode.IsNumber(r):
		f.cat = catNumber
	case unicode.IsMark(r):
		f.cat = catMark
	case unicode.IsPunct(r):
		f.cat = catPunct
	case unicode.IsSymbol(r):
		f.cat = catSymbol
	case unicode.In(r, unicode.Z):
		f.cat = catSeparator
	default:
		f.cat = catControl
	}
	f.space = r >= 0 && r <= unicode.MaxRune && unicode.Is(unicode.White_Space, r)
	return f
}

var asciiCat = func() (t [128]uint8) {
	for r := rune(0); r < 128; r++ {
		switch {
		case unicode.IsLetter(r):
			t[r] = catLetter
		case unicode.IsNumber(r):
			t[r] = catNumber
		case unicode.IsPunct(r):
			t[r] = catPunct
		case unicode.IsSymbol(r):
			t[r] = catSymbol
		case r == ' ':
			t[r] = catSeparator
		default:
			t[r] = catControl
		}
	}
	return t
}()

// unit is one code point of the input with its byte span. Invalid UTF-8
// bytes become units of their own (rune -1) so that no byte is lost.
type unit struct {
	r     rune
	start int
	end   int
}

// splitUnits decodes s into code points. llama.cpp throws on invalid
// UTF-8; we keep each invalid byte as a control-class unit instead.
func splitUnits(s string) []unit {
	us := make([]unit, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			us = append(us, unit{r: -1, start: i, end: i + 1})
			i++
			continue
		}
		us = append(us, unit{r: r, start: i, end: i + n})
		i += n
	}
	return us
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length implied by
// a lead byte, used by the SPM splitter (which never validates).
func utf8Len(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

// byteToRune and runeToByte are GPT-2's bytes_to_unicode mapping: printable
// Latin-1 bytes map to themselves, the others to U+0100 upwards.
var byteToRune, runeToByte = func() ([256]rune, map[rune]byte) {
	var b2r [256]rune
	r2b := make(map[rune]byte, 256)
	printable := func(c int) bool {
		return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF)
	}
	n := 0
	for c := 0; c < 256; c++ {
		r := rune(c)
		if !printable(c) {
			r = rune(256 + n)
			n++
		}
		b2r[c] = r
		r2b[r] = byte(c)
	}
	return b2r, r2b
}()

// byteEncode maps every byte of s through bytes_to_unicode.
func byteEncode(s string) string {
	out := make([]byte, 0, 2*len(s))
	for i := 0; i < len(s); i++ {
		out = utf8.AppendRune(out, byteToRune[s[i]])
	}
	return string(out)
}

// byteDecode reverses byteEncode. Code points outside the mapping (which a
// well-formed byte-level vocabulary never holds) are kept as their UTF-8.
func byteDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := runeToByte[r]; ok {
			out = append(out, b)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

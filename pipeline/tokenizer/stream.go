package tokenizer

import (
	"unicode/utf8"
)

// StreamDecoder turns a stream of token ids into text without ever
// splitting a UTF-8 character: bytes of a character spread over several
// byte tokens are held back until the character is complete. Unlike
// Decode it keeps the leading space of the first token, since a stream
// usually continues a prompt. Not safe for concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder with nothing pending.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Add appends the bytes of id and returns the text that is now complete:
// every whole UTF-8 character, with each ill-formed sequence written as
// one U+FFFD (see sanitize). An incomplete character at the end stays
// pending.
func (d *StreamDecoder) Add(id int) string {
	d.pending = append(d.pending, d.t.TokenBytes(id)...)
	// Hold back a trailing sequence that may still become a valid character.
	keep := 0
	for i := len(d.pending) - 1; i >= 0 && i >= len(d.pending)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(d.pending[i]) {
			tail := d.pending[i:]
			if !utf8.FullRune(tail) {
				keep = len(tail)
			}
			break
		}
	}
	out := sanitize(d.pending[:len(d.pending)-keep])
	d.pending = append(d.pending[:0], d.pending[len(d.pending)-keep:]...)
	return out
}

// Flush returns whatever is pending, an incomplete character as U+FFFD,
// and resets the decoder.
func (d *StreamDecoder) Flush() string {
	out := sanitize(d.pending)
	d.pending = d.pending[:0]
	return out
}

// sanitize converts b to a string, replacing each maximal ill-formed
// subpart by one U+FFFD (Unicode's recommended practice, §3.9, which
// Python's errors="replace" follows and so llama.cpp's reference
// greedy_text): a truncated character such as E7 8C is one U+FFFD, a stray
// continuation byte is one, and so is each byte that cannot start a
// character.
func sanitize(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[maximalSubpart(b):]
			continue
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return string(out)
}

// maximalSubpart returns the length of the ill-formed sequence at the start
// of b: its lead byte and the continuation bytes that could still have
// completed a valid character (Unicode table 3-7: E0 needs A0-BF second,
// ED 80-9F, F0 90-BF, F4 80-8F); 1 for a byte that cannot lead.
func maximalSubpart(b []byte) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for n <= need && n < len(b) {
		if c := b[n]; c < lo || c > hi {
			break
		}
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}

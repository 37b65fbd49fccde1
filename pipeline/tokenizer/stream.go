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
// every whole UTF-8 character, with bytes that can never start or continue
// a valid character written as U+FFFD. An incomplete character at the end
// stays pending.
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

// sanitize converts b to a string, replacing each invalid byte by U+FFFD.
func sanitize(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			b = b[1:]
			continue
		}
		out = append(out, b[:n]...)
		b = b[n:]
	}
	return string(out)
}

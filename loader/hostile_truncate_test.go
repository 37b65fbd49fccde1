package loader

import (
	"errors"
	"strings"
	"testing"
)

// TestSafetensorsTruncatedEveryByte cuts a valid safetensors file at every
// byte (inside the length, the header and the data): every prefix is
// rejected with a one-line bounds error naming the file, never accepted
// and never a panic; parsing a prefix allocates at most a multiple of its
// size (measured every 61 bytes: a GC per cut would take a minute).
func TestSafetensorsTruncatedEveryByte(t *testing.T) {
	entries, n := tinyLlamaST(false)
	b := safetensorsBytes(entries, n)
	if _, _, err := parseSafetensors("full.safetensors", b); err != nil {
		t.Fatal(err)
	}
	for cut := range len(b) {
		var err error
		parse := func() { _, _, err = parseSafetensors("cut.safetensors", b[:cut]) }
		var alloc uint64
		if cut%61 == 0 {
			alloc = allocated(parse)
		} else {
			parse()
		}
		if err == nil {
			t.Fatalf("prefix of %d/%d bytes accepted", cut, len(b))
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrOutOfBounds) {
			t.Fatalf("prefix of %d bytes: unexpected error kind: %v", cut, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "cut.safetensors: ") || strings.Contains(msg, "\n") {
			t.Fatalf("prefix of %d bytes: error %q is not one line naming the file", cut, msg)
		}
		if limit := 16*uint64(cut) + 64<<10; alloc > limit {
			t.Fatalf("prefix of %d bytes: %d bytes allocated (limit %d)", cut, alloc, limit)
		}
	}
}

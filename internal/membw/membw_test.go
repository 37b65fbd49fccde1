package membw

import (
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"testing"
)

// xorWords is the reference fold of the AVX2 loops: the xor of every
// 64-bit word.
func xorWords(b []byte) uint64 {
	var s uint64
	for i := 0; i+8 <= len(b); i += 8 {
		s ^= binary.LittleEndian.Uint64(b[i:])
	}
	return s
}

// TestReadersReadEveryByte: every read loop folds every word of its buffer
// (the AVX2 ones equal the xor of all words, the scalar one the sum), at
// several lengths and misaligned starts, and a change to any single byte
// changes the fold, so no byte goes unread.
func TestReadersReadEveryByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range methods() {
		for _, n := range []int{chunk, 2 * chunk, 13 * chunk, 4096 + chunk} {
			for _, off := range []int{0, 8, 40} {
				raw := make([]byte, n+off)
				for i := range raw {
					raw[i] = byte(rng.Uint32())
				}
				b := raw[off:]
				got := m.read(b)
				if m.name != "scalar" && got != xorWords(b) {
					t.Fatalf("%s n=%d off=%d: %#x, xor of the words %#x", m.name, n, off, got, xorWords(b))
				}
				for _, pos := range []int{0, 31, 32, n/2 + 3, n - 1} {
					b[pos] ^= 0x10
					if m.read(b) == got {
						t.Errorf("%s n=%d: flipping byte %d does not change the fold", m.name, n, pos)
					}
					b[pos] ^= 0x10
				}
			}
		}
	}
}

// TestRead: a small measurement reports a positive rate, its method and
// the bytes actually read.
func TestRead(t *testing.T) {
	for _, threads := range []int{1, 3} {
		r := Read(threads, 1<<20, 2)
		if !(r.BytesPerSec > 0) || r.Method == "" || r.Threads != threads || r.Bytes <= 0 || r.Bytes > 1<<20 || r.Bytes%(chunk*threads) != 0 {
			t.Errorf("Read(%d, 1 MiB, 2) = %+v", threads, r)
		}
	}
}

// TestReadReport logs each loop's rate on 512 MiB (go test -run
// ReadReport -v -membw.report); skipped by default, it takes seconds.
func TestReadReport(t *testing.T) {
	if !*report {
		t.Skip("pass -membw.report")
	}
	for _, threads := range []int{1, 2} {
		r := Read(threads, 512<<20, 5)
		for _, e := range r.Each {
			t.Logf("%d threads %-15s %5.1f GB/s", threads, e.Method, e.BytesPerSec/1e9)
		}
	}
}

var report = flag.Bool("membw.report", false, "log the bandwidth of every read loop")

// BenchmarkRead reports the bandwidth of each read loop on 256 MiB with
// one and two threads as GB/s.
func BenchmarkRead(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(string(rune('0'+threads))+"threads", func(b *testing.B) {
			var best float64
			for range b.N {
				best = max(best, Read(threads, 256<<20, 1).BytesPerSec)
			}
			b.ReportMetric(best/1e9, "GB/s")
		})
	}
}

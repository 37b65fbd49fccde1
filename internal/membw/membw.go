// Package membw measures this machine's memory read bandwidth: the
// roofline of LLM decoding, which streams every weight once per token.
package membw

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// chunk is the granule of every reader: 256 bytes (8 AVX2 loads, and 4
// streams × 64 bytes).
const chunk = 256

// Result is one bandwidth measurement.
type Result struct {
	BytesPerSec float64 // best pass: bytes read / wall time of the pass
	Method      string  // the read loop of the best pass, e.g. "avx2 4 streams"
	Threads     int
	Bytes       int // bytes each pass read (the buffer size, rounded down)
	Passes      int // passes per method
	// Each lists every read loop with its best pass, in bytes/s.
	Each []Rate
}

// Rate is the best pass of one read loop.
type Rate struct {
	Method      string
	BytesPerSec float64
}

// Read measures the read bandwidth of threads goroutines, each reading
// its own contiguous share of a buffer of bytes bytes (far larger than
// the caches), in passes timed passes per read loop; it returns the best
// pass of the best loop. The loops are a plain scalar sum and, with AVX2,
// 32-byte loads from one stream or from four interleaved streams per
// thread (more independent prefetch streams). Every byte is read in every
// pass and folded into a result the caller cannot see through, so nothing
// is skipped; the pages are written once before timing, so page faults
// are not timed.
func Read(threads, bytes, passes int) Result {
	threads = max(1, threads)
	passes = max(1, passes)
	per := bytes / threads / chunk * chunk
	if per == 0 {
		per = chunk
	}
	raw := make([]byte, per*threads+64)
	off := (64 - int(uintptr(unsafe.Pointer(unsafe.SliceData(raw))))%64) % 64
	buf := raw[off : off+per*threads]
	for i := 0; i < len(buf); i += 8 { // fault every page in, non-zero data
		buf[i] = byte(i>>12) | 1
	}
	res := Result{Threads: threads, Bytes: len(buf), Passes: passes}
	var sink uint64
	for _, m := range methods() {
		r := Rate{Method: m.name}
		for range passes {
			d, s := pass(buf, threads, per, m.read)
			sink ^= s
			r.BytesPerSec = max(r.BytesPerSec, float64(len(buf))/d.Seconds())
		}
		res.Each = append(res.Each, r)
		if r.BytesPerSec > res.BytesPerSec {
			res.BytesPerSec, res.Method = r.BytesPerSec, m.name
		}
	}
	runtime.KeepAlive(sink)
	return res
}

// method is one read loop: it reads every byte of b (len a multiple of
// chunk) and returns a fold of them.
type method struct {
	name string
	read func(b []byte) uint64
}

// pass starts threads readers, releases them together and returns the
// time until the last one is done.
func pass(buf []byte, threads, per int, read func([]byte) uint64) (time.Duration, uint64) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	sums := make([]uint64, threads*8) // a cache line per reader
	ready.Add(threads)
	done.Add(threads)
	for t := range threads {
		go func() {
			defer done.Done()
			part := buf[t*per : (t+1)*per]
			ready.Done()
			<-start
			sums[t*8] = read(part)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	d := time.Since(t0)
	var s uint64
	for t := range threads {
		s ^= sums[t*8]
	}
	return d, s
}

// sumScalar reads b as 64-bit words with four independent sums, so that
// the loop waits on memory, not on the adds.
func sumScalar(b []byte) uint64 {
	x := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
	var s0, s1, s2, s3 uint64
	for i := 0; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	return s0 + s1 + s2 + s3
}

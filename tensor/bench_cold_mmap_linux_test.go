package tensor

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkMatVecMapped asks where decode's weights should live: it runs
// batch-1 Pool.MatMul over a model-shaped run of matrices (six 110M
// layers and the LM head, ~270 MB of F32: from DRAM) held four ways, as
// an interleaved A/B, and reports each one's best pass in GB/s:
//
//   - heap: a Go []byte (4 KiB pages: THP is "madvise" here);
//   - anonhuge: an anonymous mapping with MADV_HUGEPAGE (2 MiB pages);
//   - file4k: a file mapping whose page cache was filled by write(2), as
//     for a model just written or downloaded: 4 KiB page-table entries;
//   - file2m: the same bytes in a file whose page cache was dropped and
//     refilled by faults under MADV_HUGEPAGE: 2 MiB folios, PMD-mapped.
//
// FilePmdMapped-MB is /proc/self/smaps's figure for file2m's mapping (0
// means the kernel kept 4 KiB pages and the comparison is void).
//
//	go test -run '^$' -bench 'MatVecMapped' -benchtime 6x ./tensor/
func BenchmarkMatVecMapped(b *testing.B) {
	for _, typ := range []Type{F32, Q8_0, Q4_K} {
		b.Run(typ.String(), func(b *testing.B) { benchMapped(b, typ) })
	}
}

func benchMapped(b *testing.B, typ Type) {
	ti, _ := typ.Info()
	shapes := []struct{ rows, cols int }{}
	for range 6 {
		shapes = append(shapes, matmulShapes[0], matmulShapes[0], matmulShapes[0], matmulShapes[0],
			matmulShapes[1], matmulShapes[1], matmulShapes[2])
	}
	shapes = append(shapes, matmulShapes[3])
	r := rand.New(rand.NewPCG(12, 12))
	var img []byte
	offs := make([]int, len(shapes))
	for i, sh := range shapes {
		offs[i] = len(img)
		img = append(img, RandomBlocks(typ, sh.rows*sh.cols/ti.BlockSize, r)...)
	}
	dir := b.TempDir()
	write := func(name string) (*os.File, []byte) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, img, 0o600); err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f, nil
	}
	mapFile := func(f *os.File, huge bool) []byte {
		if huge {
			// Drop the write-filled page cache, so that faults refill it
			// (readahead builds 2 MiB folios for a VM_HUGEPAGE mapping).
			if err := unix.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
			if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
				b.Fatal(err)
			}
		}
		m, err := unix.Mmap(int(f.Fd()), 0, len(img), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { unix.Munmap(m) })
		if huge {
			if err := unix.Madvise(m, unix.MADV_HUGEPAGE); err != nil {
				b.Fatal(err)
			}
		}
		s := 0
		for i := 0; i < len(m); i += 4096 {
			s += int(m[i])
		}
		_ = s
		return m
	}
	f4, _ := write("w4k")
	f2, _ := write("w2m")
	anon, err := unix.Mmap(-1, 0, len(img), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Munmap(anon) })
	if err := unix.Madvise(anon, unix.MADV_HUGEPAGE); err != nil {
		b.Fatal(err)
	}
	copy(anon, img)
	variants := []struct {
		name string
		data []byte
	}{
		{"heap", bytes.Clone(img)},
		{"anonhuge", anon},
		{"file4k", mapFile(f4, false)},
		{"file2m", mapFile(f2, true)},
	}
	x := randF32(r, 2048)
	dst := make([]float32, 32000)
	p := NewPool(2)
	defer p.Close()
	best := make([]time.Duration, len(variants))
	for b.Loop() {
		for k, v := range variants {
			t0 := time.Now()
			for i, sh := range shapes {
				rb := sh.cols / ti.BlockSize * ti.BlockBytes
				w := Matrix{Type: typ, Rows: sh.rows, Cols: sh.cols, RowBytes: rb, Data: v.data[offs[i] : offs[i]+sh.rows*rb]}
				p.MatMul(dst, w, x, 1)
			}
			if d := time.Since(t0); best[k] == 0 || d < best[k] {
				best[k] = d
			}
		}
	}
	b.ReportMetric(float64(filePmdMapped(b, variants[3].data))/1e6, "FilePmdMapped-MB")
	for k, v := range variants {
		b.ReportMetric(float64(len(img))/best[k].Seconds()/1e9, v.name+"-GB/s")
	}
}

// filePmdMapped returns the FilePmdMapped bytes of the mapping that starts
// at m, from /proc/self/smaps.
func filePmdMapped(b *testing.B, m []byte) int64 {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	head := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&m[0])))
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if !strings.HasSuffix(fs[0], ":") { // a mapping's header line
			in = strings.HasPrefix(fs[0], head)
			continue
		}
		if in && fs[0] == "FilePmdMapped:" && len(fs) > 1 {
			kb, _ := strconv.ParseInt(fs[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

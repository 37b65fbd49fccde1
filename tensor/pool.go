package tensor

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Pool is a persistent set of worker goroutines that runs the matrix
// products and any row-parallel work of a model. The goroutines start once
// in NewPool and are reused by every call; the scratch buffers (quantized
// activations, dequantized rows) belong to the pool and only grow, so a
// steady-state call allocates nothing.
//
// A Pool runs one operation at a time: concurrent MatMul/Parallel calls
// are serialized, and fn given to Parallel must not call back into the
// same Pool.
type Pool struct {
	// FloatPath makes MatMul dequantize every quantized weight row to
	// float32 and dot it with the float32 activations (the reference math of
	// the numpy stage statistics) instead of quantizing the activations and
	// using the integer kernels (llama.cpp's math). For F16/BF16 weights it
	// keeps the activations in float32 instead of rounding them to F16/BF16
	// as llama.cpp does.
	FloatPath bool

	mu      sync.Mutex
	threads int
	jobs    []chan job // one per worker goroutine (threads-1 of them)
	wg      sync.WaitGroup
	pending atomic.Int32 // chunks still running on workers (see spinWait)
	exited  sync.WaitGroup
	closed  bool
	// panicked holds the first panic of a chunk in the current run; the
	// caller re-raises it once every chunk is done (a panic left on a
	// worker goroutine would kill the process before the engine's recover
	// could close the trace).
	panicked atomic.Pointer[chunkPanic]

	ops       []mmOp                       // the launch being run
	scratch   []opScratch                  // activation encodings, one per product
	cpu       []int64                      // per worker × product: ns spent (cpuStride apart)
	cpuStride int                          // counters per worker
	mmRange   func(worker, start, end int) // p.matmulRange, bound once
	rowBuf    [][]float32                  // per-worker dequantized weight row
	farOut    [][16]float32                // per-worker farRows outputs (a cache line each)
	names     map[nameKey]string           // kernel names, built once each
}

// job is one contiguous chunk for one worker: either fn (Parallel) or the
// pool's current matmul.
type job struct {
	fn         func(start, end int)
	mm         func(worker, start, end int)
	worker     int
	start, end int
}

// NewPool starts a pool of threads workers; threads <= 0 means
// runtime.GOMAXPROCS(0). The calling goroutine takes part in every
// operation, so threads-1 goroutines are started.
func NewPool(threads int) *Pool {
	settle()
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, names: map[nameKey]string{}}
	p.mmRange = p.matmulRange
	p.rowBuf = make([][]float32, threads)
	p.farOut = make([][16]float32, threads)
	for i := 1; i < threads; i++ {
		ch := make(chan job, 1)
		p.jobs = append(p.jobs, ch)
		p.exited.Add(1)
		go p.worker(ch)
	}
	return p
}

func (p *Pool) worker(ch chan job) {
	defer p.exited.Done()
	for {
		j, ok := spinRecv(ch)
		if !ok {
			return
		}
		p.runJob(j)
		p.wg.Done()
		p.pending.Add(-1) // after Done, so that a caller seeing 0 never parks in Wait
	}
}

// chunkPanic is a recovered panic value of one chunk.
type chunkPanic struct{ v any }

// runJob runs one chunk, recording a panic for run to re-raise on the
// calling goroutine.
func (p *Pool) runJob(j job) {
	defer func() {
		if r := recover(); r != nil {
			p.panicked.CompareAndSwap(nil, &chunkPanic{r})
		}
	}()
	if j.fn != nil {
		j.fn(j.start, j.end)
	} else {
		j.mm(j.worker, j.start, j.end)
	}
}

// spinWait is how long an idle worker polls for its next job, and the
// caller for the workers' completion, before blocking. Waking a parked
// goroutine costs tens of µs on a virtual machine, as long as a whole
// 768×768 matvec: without spinning, two threads were no faster than one
// at batch 1 (BenchmarkMatMul .../b1/t2 vs t1).
const spinWait = 200 * time.Microsecond

// spinRecv receives from ch, polling for up to spinWait (yielding the P
// now and then) before a blocking receive.
func spinRecv(ch chan job) (job, bool) {
	start := time.Now()
	for i := 1; ; i++ {
		select {
		case j, ok := <-ch:
			return j, ok
		default:
		}
		if i%64 == 0 {
			if time.Since(start) > spinWait {
				break
			}
			runtime.Gosched()
		}
	}
	j, ok := <-ch
	return j, ok
}

// Threads returns the number of workers, the calling goroutine included.
func (p *Pool) Threads() int { return p.threads }

// Close stops the worker goroutines and waits for them to exit. A closed
// pool still works, on the calling goroutine alone.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.jobs {
		close(ch)
	}
	p.exited.Wait()
	p.jobs = nil
}

// split divides [0,n) into at most len(p.jobs)+1 contiguous chunks of
// ceil(n/k) and returns the chunk size and count.
func (p *Pool) split(n int) (size, chunks int) {
	k := min(len(p.jobs)+1, n)
	size = (n + k - 1) / k
	return size, (n + size - 1) / size
}

// run executes the chunks, the calling goroutine taking chunk 0. p.mu is held.
func (p *Pool) run(n int, fn func(start, end int), mm func(worker, start, end int)) (size, chunks int) {
	if n <= 0 {
		return 0, 0
	}
	size, chunks = p.split(n)
	if mm != nil && size > 4 {
		// Matmul chunks of a multiple of 4 rows keep every row in the
		// four-row kernels (same bits either way).
		size = (size + 3) &^ 3
		chunks = (n + size - 1) / size
	}
	p.pending.Store(int32(chunks - 1))
	p.wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		p.jobs[c-1] <- job{fn: fn, mm: mm, worker: c, start: c * size, end: min(n, (c+1)*size)}
	}
	p.runJob(job{fn: fn, mm: mm, start: 0, end: min(n, size)})
	// Poll before Wait (see spinWait): the workers are usually running.
	start := time.Now()
	for i := 1; p.pending.Load() != 0; i++ {
		if i%64 == 0 {
			if time.Since(start) > spinWait {
				break
			}
			runtime.Gosched()
		}
	}
	p.wg.Wait()
	if cp := p.panicked.Swap(nil); cp != nil {
		panic(cp.v)
	}
	return size, chunks
}

// Parallel runs fn(start, end) over [0, n) split into contiguous chunks,
// one per worker, and returns when all are done.
func (p *Pool) Parallel(n int, fn func(start, end int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.run(n, fn, nil)
}

// Launch describes one kernel launch, for KERNEL_LAUNCH events and the
// brick profiler.
type Launch struct {
	Kernel        string // e.g. "matvec_q8_0_avx2", "matmul_q4_k_go", "matvec_q4_0_deq_go"
	Workers       int    // goroutines that computed a share of the rows
	RowsPerWorker int    // rows per worker (the last may have fewer)
	Strategy      string // how the work was split: "rows", or "fused rows" (MatMuls)
	FLOPs         int64  // 2 × rows × cols × batch
	BytesRead     int64  // weight bytes + float32 activation bytes
	// CPUNanos is the time the workers spent on this product, summed over
	// workers (MatMuls only). A fused launch has one wall time; this is
	// what tells its products apart.
	CPUNanos int64
}

// Product is one weight product Dst = W · x of a MatMuls launch.
type Product struct {
	Dst []float32 // batch × W.Rows values
	W   Matrix
}

// mmOp is one product being run, read by the workers.
type mmOp struct {
	dst      []float32
	w        Matrix
	x        []float32 // float32 activations (rounded to F16/BF16 for those modes)
	xq       []byte    // quantized activation rows (modeQuant)
	xs       []byte    // batch-1 Q4_K: xq laid out for q4kDecode; Q4_0: q40Decode's table; or nil
	ks       *kernelSet
	mode     mmMode
	xqStride int // bytes per quantized activation row
	nb       int // blocks per row
	tileRows int
	batch    int // activation rows
	row0     int // first row of this product in the launch's row range
}

type mmMode uint8

const (
	modeQuant   mmMode = iota // quantized activations, dotQ
	modeF32                   // F32 weights
	modeF16                   // F16 weights
	modeBF16                  // BF16 weights
	modeDequant               // dequantize each row, dotF32
)

type nameKey struct {
	ks    *kernelSet
	t     Type
	mode  mmMode
	batch bool
}

// tileBytes is the weight bytes of one tile: small enough to stay in L1/L2
// while each activation row of the batch is dotted against it.
const tileBytes = 16 << 10

// cpuStride is the least spacing of the per-worker CPU-time counters:
// a cache line, so that workers do not share one.
const cpuStride = 8

// MatMul computes dst[b*w.Rows+r] = (row r of w) · x[b*w.Cols:(b+1)*w.Cols]
// for b < batch. For quantized weights it quantizes each activation row
// once into vecDotType(w.Type) (in pool scratch) and uses the integer dot
// of the active kernels; with FloatPath, or for types without an integer
// dot, each weight row is dequantized into scratch and dotted in float32.
// F32 weights are dotted with the float32 activations; F16/BF16 weights
// with the activations rounded to F16/BF16 first (llama.cpp's vec_dot_type),
// or with FloatPath, with the float32 activations unchanged.
//
// Rows are split into contiguous chunks, one per worker; weights are read
// in tiles of rows, each tile against every batch row. Every output value
// is one dot call with a fixed summation order, so results are
// bit-identical for any thread count.
//
// Mismatched shapes are programming errors and panic with a message.
func (p *Pool) MatMul(dst []float32, w Matrix, x []float32, batch int) Launch {
	p.mu.Lock()
	defer p.mu.Unlock()
	settle()
	if err := checkMatMul(dst, w, x, batch); err != nil {
		panic("tensor.MatMul: " + err.Error())
	}
	p.ops = p.ops[:0]
	p.prepare(dst, w, x, batch)
	var l [1]Launch
	p.launch(batch, "rows", l[:])
	return l[0]
}

// MatMuls computes several products of the same input x (the Q, K and V
// projections of one normed row; the gate and up projections) as one
// launch: the activation is quantized (or rounded) once per distinct
// encoding, and the rows of all products are split across the workers
// together, so there is one barrier instead of one per product. Each
// output value is the same dot call as MatMul makes, so the results are
// bit-identical to separate MatMul calls, for any thread count. It fills
// out[i] (len(out) >= len(prods)) with the launch of prods[i]; Workers and
// RowsPerWorker describe that product's share of the split, and CPUNanos
// the workers' time on it.
//
// Mismatched shapes are programming errors and panic with a message.
func (p *Pool) MatMuls(x []float32, batch int, prods []Product, out []Launch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	settle()
	if len(out) < len(prods) {
		panic(fmt.Sprintf("tensor.MatMuls: %d launches for %d products", len(out), len(prods)))
	}
	if len(prods) == 0 {
		return
	}
	p.ops = p.ops[:0]
	for i, pr := range prods {
		if err := checkMatMul(pr.Dst, pr.W, x, batch); err != nil {
			panic(fmt.Sprintf("tensor.MatMuls: product %d: %v", i, err))
		}
		p.prepare(pr.Dst, pr.W, x, batch)
	}
	strategy := "fused rows"
	if len(prods) == 1 {
		strategy = "rows"
	}
	p.launch(batch, strategy, out[:len(prods)])
}

// prepare appends the product dst = w·x to p.ops, encoding the activations
// for its kernels, or sharing the encoding of an earlier product of the
// launch that needs the same one.
func (p *Pool) prepare(dst []float32, w Matrix, x []float32, batch int) {
	ks := active
	i := len(p.ops)
	if i == len(p.scratch) {
		p.scratch = append(p.scratch, opScratch{})
	}
	op := mmOp{dst: dst, w: w, x: x[:batch*w.Cols], ks: ks, batch: batch}
	if i > 0 {
		op.row0 = p.ops[i-1].row0 + p.ops[i-1].w.Rows
	}
	// same returns an earlier op of the launch with this activation
	// encoding (same mode, same encoded type, same width), if any.
	same := func(mode mmMode, t Type) *mmOp {
		for j := range p.ops {
			o := &p.ops[j]
			enc := o.w.Type
			if o.mode == modeQuant {
				enc = vecDotType(o.w.Type)
			}
			if o.mode == mode && enc == t && o.w.Cols == w.Cols {
				return o
			}
		}
		return nil
	}
	switch {
	case w.Type == F32:
		op.mode = modeF32
	case w.Type == F16 || w.Type == BF16:
		op.mode = modeF16
		if w.Type == BF16 {
			op.mode = modeBF16
		}
		if !p.FloatPath {
			// llama.cpp converts the activations to the weight type
			// (vec_dot_type F16/BF16) before the dot: do the same.
			if o := same(op.mode, w.Type); o != nil {
				op.x = o.x
			} else {
				op.x = p.roundActivations(&p.scratch[i], w.Type, op.x)
			}
		}
	case p.FloatPath || ks.dotQ[w.Type] == nil:
		op.mode = modeDequant
		for i := range p.rowBuf {
			if cap(p.rowBuf[i]) < w.Cols {
				p.rowBuf[i] = make([]float32, w.Cols)
			}
			p.rowBuf[i] = p.rowBuf[i][:w.Cols]
		}
	default:
		op.mode = modeQuant
		vt := vecDotType(w.Type)
		vi, _ := vt.Info()
		op.nb = w.Cols / vi.BlockSize
		op.xqStride = op.nb * vi.BlockBytes
		if o := same(modeQuant, vt); o != nil {
			op.xq = o.xq
			if decodes(w.Type, batch, ks) {
				if o.w.Type == w.Type {
					op.xs = o.xs
				} else {
					op.xs = p.prepDecode(&p.scratch[i], w.Type, op.xq, op.nb)
				}
			}
			break
		}
		sc := &p.scratch[i]
		if need := op.xqStride * batch; cap(sc.xq) < need {
			sc.xq = make([]byte, need)
		}
		op.xq = sc.xq[:op.xqStride*batch]
		quant := ks.quantizeQ8_0
		switch vt {
		case Q8_1:
			quant = ks.quantizeQ8_1
		case Q8_K:
			quant = ks.quantizeQ8_K
		}
		for b := range batch {
			quant(x[b*w.Cols:(b+1)*w.Cols], op.xq[b*op.xqStride:(b+1)*op.xqStride])
		}
		if decodes(w.Type, batch, ks) {
			op.xs = p.prepDecode(sc, w.Type, op.xq, op.nb)
		}
	}
	// A multiple of 4 rows, so that every row of a tile goes through the
	// four-row kernels (a 16 KiB tile is only 5 rows of 768 F32 values).
	op.tileRows = max(4, tileBytes/max(1, w.RowBytes)&^3)
	if batch > 1 && op.mode == modeQuant {
		// The eight-row batched kernels (tileQx8) take rows in eights.
		op.tileRows = (op.tileRows + 7) &^ 7
	}
	p.ops = append(p.ops, op)
}

// opScratch is the activation scratch of the i-th product of a launch.
type opScratch struct {
	xq []byte    // quantized activation rows
	xr []float32 // activations rounded to F16/BF16
	xs []byte    // the activation as a decode kernel reads it
}

// decodeKernels enables the batch-1 decode kernels (q4kDecode,
// q40Decode); a variable so that benchmarks can A/B them.
var decodeKernels = true

// decodes reports whether a batch-1 product of type t with kernel set ks
// goes through a decode kernel (q4kDecode, q40Decode).
func decodes(t Type, batch int, ks *kernelSet) bool {
	switch {
	case batch != 1 || !decodeKernels:
		return false
	case t == Q4_K:
		return ks == q4kDecode.ks
	case t == Q4_0:
		return ks == q40Decode.ks
	}
	return false
}

// prepDecode returns what the decode kernel of type t reads for the nb
// activation blocks of xq (Q8_K for Q4_K, Q8_0 for Q4_0), in sc.
func (p *Pool) prepDecode(sc *opScratch, t Type, xq []byte, nb int) []byte {
	need := nb * q8KBlockBytes
	if t == Q4_0 {
		need = q40TableBytes(nb)
	}
	if cap(sc.xs) < need {
		sc.xs = make([]byte, need)
	}
	xs := sc.xs[:need]
	if t == Q4_0 {
		prepQ40Decode(xq, xs, nb)
	} else {
		prepQ4KDecode(xq, xs, nb)
	}
	return xs
}

// launch runs p.ops over their concatenated rows and fills out.
func (p *Pool) launch(batch int, strategy string, out []Launch) {
	last := &p.ops[len(p.ops)-1]
	rows := last.row0 + last.w.Rows
	p.cpuStride = max(cpuStride, len(p.ops))
	if need := p.threads * p.cpuStride; len(p.cpu) < need {
		p.cpu = make([]int64, need)
	}
	clear(p.cpu)
	size, chunks := p.run(rows, nil, p.mmRange)
	for i := range p.ops {
		op := &p.ops[i]
		l := Launch{
			Kernel:    p.kernelName(op.ks, op.w.Type, op.mode, batch > 1),
			Strategy:  strategy,
			FLOPs:     2 * int64(op.w.Rows) * int64(op.w.Cols) * int64(batch),
			BytesRead: int64(op.w.Rows)*int64(op.w.RowBytes) + 4*int64(batch)*int64(op.w.Cols),
		}
		for c := range chunks {
			n := min(op.row0+op.w.Rows, (c+1)*size) - max(op.row0, c*size)
			if n > 0 {
				l.Workers++
				l.RowsPerWorker = max(l.RowsPerWorker, n)
			}
			l.CPUNanos += p.cpu[c*p.cpuStride+i]
		}
		out[i] = l
		p.ops[i] = mmOp{} // drop references to the caller's slices
	}
	p.ops = p.ops[:0]
}

// roundActivations returns x rounded to F16 or BF16 precision (as float32
// values), in sc.
func (p *Pool) roundActivations(sc *opScratch, t Type, x []float32) []float32 {
	if cap(sc.xr) < len(x) {
		sc.xr = make([]float32, len(x))
	}
	xr := sc.xr[:len(x)]
	if t == F16 {
		active.roundF16(xr, x) // prepare's ks: active does not change during a call
		return xr
	}
	var b [2]byte
	for i, v := range x {
		putBF16(b[:], v)
		xr[i] = bf16(b[:])
	}
	return xr
}

func checkMatMul(dst []float32, w Matrix, x []float32, batch int) error {
	rb, err := RowBytes(w.Type, w.Cols)
	switch {
	case err != nil:
		return err
	case w.Rows < 0 || batch < 0:
		return fmt.Errorf("negative shape: %d rows, batch %d", w.Rows, batch)
	case rb != w.RowBytes:
		return fmt.Errorf("%s matrix with %d cols has RowBytes %d, want %d", w.Type, w.Cols, w.RowBytes, rb)
	case len(w.Data) < w.Rows*w.RowBytes:
		return fmt.Errorf("%s matrix %dx%d: data is %d bytes, need %d", w.Type, w.Rows, w.Cols, len(w.Data), w.Rows*w.RowBytes)
	case len(x) < batch*w.Cols:
		return fmt.Errorf("x has %d values, need %d (batch %d × %d cols)", len(x), batch*w.Cols, batch, w.Cols)
	case len(dst) < batch*w.Rows:
		return fmt.Errorf("dst has %d values, need %d (batch %d × %d rows)", len(dst), batch*w.Rows, batch, w.Rows)
	}
	return nil
}

// matmulRange computes rows [start, end) of the launch's concatenated
// product rows, for every batch row, timing each product's share.
func (p *Pool) matmulRange(worker, start, end int) {
	t0 := time.Now()
	for i := range p.ops {
		op := &p.ops[i]
		lo, hi := max(start, op.row0)-op.row0, min(end, op.row0+op.w.Rows)-op.row0
		if lo >= hi {
			continue
		}
		p.opRange(op, worker, lo, hi)
		t1 := time.Now()
		p.cpu[worker*p.cpuStride+i] += int64(t1.Sub(t0))
		t0 = t1
	}
}

// opRange computes rows [start, end) of op for every batch row.
func (p *Pool) opRange(a *mmOp, worker, start, end int) {
	ks, w, cols, rows := a.ks, a.w, a.w.Cols, a.w.Rows
	// Q8_0 and Q4_0 too (once their kernels stopped prefetching rows
	// that, with a far stride, lie outside the worker's share), and those
	// with a decode kernel (a.xs: Q4_K, Q4_0).
	if a.batch == 1 && (a.mode == modeF32 || a.mode == modeF16 || a.mode == modeQuant && (w.Type == Q8_0 || w.Type == Q4_0 || a.xs != nil)) && farStreams {
		start = farRows(a, start, end, &p.farOut[worker])
	}
	for t0 := start; t0 < end; t0 += a.tileRows {
		t1 := min(end, t0+a.tileRows)
		// Batched kernels (matmul_tile.go), where there are: same bits.
		if a.batch > 1 && tileBatched(ks, w, a.x, a.xq, a.xqStride, a.nb, a.batch, a.dst, t0, t1, p.rowBuf, worker) {
			continue
		}
		for b := 0; b < a.batch; b++ {
			xb := a.x[b*cols : (b+1)*cols]
			out := a.dst[b*rows : (b+1)*rows]
			switch a.mode {
			case modeQuant:
				xq := a.xq[b*a.xqStride : (b+1)*a.xqStride]
				dot, dot4 := ks.dotQ[w.Type], ks.dotQx4[w.Type]
				r := t0
				// Four rows per call share the activation work; same bits
				// as four dot calls.
				for ; r+4 <= t1; r += 4 {
					dot4(w.Data[r*w.RowBytes:], w.RowBytes, xq, a.nb, (*[4]float32)(out[r:r+4]))
				}
				for ; r < t1; r++ {
					out[r] = dot(w.Row(r), xq, a.nb)
				}
			case modeF32:
				r := t0
				// Four rows per call share the activation loads; same bits
				// as four dotF32 calls. Rows are 4*cols bytes, so one view
				// covers them (decoded into scratch if misaligned).
				for ; r+4 <= t1; r += 4 {
					rows := f32Row(w.Data[r*w.RowBytes:(r+4)*w.RowBytes], 4*cols, p.rowBuf, worker)
					ks.dotF32x4(rows, cols, xb, (*[4]float32)(out[r:r+4]))
				}
				for ; r < t1; r++ {
					out[r] = ks.dotF32(f32Row(w.Row(r), cols, p.rowBuf, worker), xb)
				}
			case modeF16:
				r := t0
				for ; r+4 <= t1; r += 4 { // as for F32
					ks.dotF16x4(w.Data[r*w.RowBytes:(r+4)*w.RowBytes], w.RowBytes, xb, (*[4]float32)(out[r:r+4]))
				}
				for ; r < t1; r++ {
					out[r] = ks.dotF16(w.Row(r), xb)
				}
			case modeBF16:
				for r := t0; r < t1; r++ {
					out[r] = ks.dotBF16(w.Row(r), xb)
				}
			case modeDequant:
				buf := p.rowBuf[worker]
				for r := t0; r < t1; r++ {
					dequantizeRow(w.Type, w.Row(r), buf)
					out[r] = ks.dotF32(buf, xb)
				}
			}
		}
	}
}

// farStreams enables farRows (a variable so that benchmarks can A/B it).
var farStreams = true

// farRows computes the first 4*q rows of [start, end), q = (end-start)/4,
// of a batch-1 product with the four-row kernels on rows r, r+q, r+2q,
// r+3q: four long sequential streams, which the hardware prefetchers
// follow at close to the machine's read bandwidth, where consecutive rows
// (3 KB each at 768 F32 values) stream ~40% slower (BenchmarkDotF32Cold
// x2far vs x2). Batch-1 Q4_K and Q4_0 go through their decode kernels
// (q4kDecode, q40Decode; a.xs), whose four rows are interleaved per block
// (the older one-row-after-another Q4_K kernel was slower with far
// rows). Each row is the same dot call (or the same bits), so the result
// does not depend on the split. It returns the first row left to compute.
func farRows(a *mmOp, start, end int, slot *[16]float32) int {
	w, q := a.w, (end-start)/4
	if q < 4 {
		return start
	}
	if a.mode == modeF32 && uintptr(unsafe.Pointer(unsafe.SliceData(w.Data)))%4 != 0 {
		return start // unaligned: the per-tile path decodes rows
	}
	out := a.dst[:w.Rows]
	o := (*[4]float32)(slot[:4]) // in the pool: a local would escape to the kernel func
	for r := start; r < start+q; r++ {
		last := (r + 3*q + 1) * w.RowBytes
		switch a.mode {
		case modeQuant:
			switch {
			case a.xs != nil && w.Type == Q4_K:
				q4kDecode.dot4(w.Data[r*w.RowBytes:last], q*w.RowBytes, a.xs, a.nb, o)
			case a.xs != nil:
				q40Decode.dot4(w.Data[r*w.RowBytes:last], q*w.RowBytes, a.xq, a.xs, a.nb, o)
			default:
				a.ks.dotQx4[w.Type](w.Data[r*w.RowBytes:last], q*w.RowBytes, a.xq, a.nb, o)
			}
		case modeF32:
			v := unsafe.Slice((*float32)(unsafe.Pointer(&w.Data[r*w.RowBytes])), (last-r*w.RowBytes)/4)
			a.ks.dotF32x4(v, q*w.Cols, a.x, o)
		default:
			a.ks.dotF16x4(w.Data[r*w.RowBytes:last], q*w.RowBytes, a.x, o)
		}
		out[r], out[r+q], out[r+2*q], out[r+3*q] = o[0], o[1], o[2], o[3]
	}
	return start + 4*q
}

// f32Row views an F32 row as []float32 without copying; rows of a mapped
// GGUF are 4-byte aligned, and an unaligned one is decoded into the
// worker's scratch instead.
func f32Row(b []byte, cols int, bufs [][]float32, worker int) []float32 {
	if cols == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), cols)
	}
	buf := bufs[worker]
	if cap(buf) < cols {
		buf = make([]float32, cols)
		bufs[worker] = buf
	}
	buf = buf[:cols]
	dequantizeRow(F32, b, buf)
	return buf
}

// kernelName returns e.g. "matvec_q4_k_avx2", built once per combination.
func (p *Pool) kernelName(ks *kernelSet, t Type, mode mmMode, batched bool) string {
	k := nameKey{ks, t, mode, batched}
	if s, ok := p.names[k]; ok {
		return s
	}
	op := "matvec"
	if batched {
		op = "matmul"
	}
	s := op + "_" + strings.ToLower(t.String())
	if mode == modeDequant {
		s += "_deq"
	}
	s += "_" + ks.name
	p.names[k] = s
	return s
}

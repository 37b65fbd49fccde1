package pipeline

import (
	"time"

	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// pool is a private stand-in for tensor.Pool until it lands: serial,
// dequantize-then-dot float path.
type pool struct {
	threads int
	row     []float32
}

func newPool(threads int) *pool { return &pool{threads: threads} }

func (p *pool) close() {}

// Parallel runs fn over [0,n).
func (p *pool) Parallel(n int, fn func(start, end int)) { fn(0, n) }

type launch struct {
	Kernel                 string
	Workers, RowsPerWorker int
	Strategy               string
	FLOPs, BytesRead       int64
}

// MatMul computes dst[b*Rows+r] = dot(w row r, x[b*Cols:]).
func (p *pool) MatMul(dst []float32, w tensor.Matrix, x []float32, batch int) launch {
	if cap(p.row) < w.Cols {
		p.row = make([]float32, w.Cols)
	}
	row := p.row[:w.Cols]
	for r := range w.Rows {
		if err := tensor.DequantizeRow(w.Type, w.Row(r), row); err != nil {
			panic(err)
		}
		for b := range batch {
			dst[b*w.Rows+r] = dot(row, x[b*w.Cols:(b+1)*w.Cols])
		}
	}
	return launch{Kernel: "shim", Workers: 1, RowsPerWorker: w.Rows, Strategy: "serial",
		FLOPs: int64(2 * w.Rows * w.Cols * batch), BytesRead: int64(len(w.Data))}
}

func tensorDequantizeRow(m tensor.Matrix, r int, dst []float32) error {
	return tensor.DequantizeRow(m.Type, m.Row(r), dst)
}

// matmul dispatches one weight multiplication on the pool, as a
// KERNEL_LAUNCH when that state is recorded, and times it as brick b.
func (s *Session) matmul(b trace.Brick, dst []float32, w tensor.Matrix, name string, x []float32, batch, it, layer int) {
	var f *frame
	if s.kern {
		f = s.begin(trace.KernelLaunch, it, layer, batch, w.Cols)
	}
	t := s.tick()
	ln := s.pool.MatMul(dst[:batch*w.Rows], w, x[:batch*w.Cols], batch)
	s.tock(b, t, ln.FLOPs, ln.BytesRead)
	if f != nil {
		if f.rec {
			f.payload.Kernel = &trace.KernelInfo{Name: ln.Kernel, Weight: name, Rows: w.Rows, Cols: w.Cols, Batch: batch,
				Workers: ln.Workers, RowsPerWorker: ln.RowsPerWorker, Strategy: ln.Strategy,
				DurationUS: float64(time.Since(f.start).Nanoseconds()) / 1e3, FLOPs: ln.FLOPs, BytesRead: ln.BytesRead}
		}
		s.end(f)
	}
}

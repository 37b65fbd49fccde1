package pipeline

import (
	"time"

	"github.com/infertrace/infertrace/tensor"
	"github.com/infertrace/infertrace/trace"
)

// matmul dispatches one weight multiplication on the pool, as a
// KERNEL_LAUNCH when that state is recorded, and times it as brick b.
func (s *Session) matmul(b trace.Brick, dst []float32, w tensor.Matrix, name string, x []float32, batch, it, layer int) {
	var f *frame
	if s.kern {
		f = s.begin(trace.KernelLaunch, it, layer, batch, w.Cols, nil)
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

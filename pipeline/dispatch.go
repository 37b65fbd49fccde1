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

// maxFused is the most products one fused launch takes (Q, K and V).
const maxFused = 3

// matmuls multiplies the weights of prods by the same input x (Q, K and V;
// gate and up) as one pool launch: one activation quantization and one
// barrier instead of one per weight, bit-identical to separate launches.
// When KERNEL_LAUNCH is recorded, every weight is dispatched as its own
// launch instead, so that each event times and describes a real launch.
// Profiling splits the launch's wall time between the bricks in proportion
// to the CPU time the workers spent on each product.
func (s *Session) matmuls(prods []tensor.Product, bricks []trace.Brick, names []string, x []float32, batch, it, layer int) {
	if s.kern {
		for i, pr := range prods {
			s.matmul(bricks[i], pr.Dst, pr.W, names[i], x, batch, it, layer)
		}
		return
	}
	for i := range prods {
		w := prods[i].W
		prods[i].Dst = prods[i].Dst[:batch*w.Rows]
	}
	var out [maxFused]tensor.Launch
	t := s.tick()
	s.pool.MatMuls(x[:batch*prods[0].W.Cols], batch, prods, out[:])
	if s.prof == nil {
		return
	}
	wall := time.Now().UnixNano() - t
	var cpu int64
	for _, l := range out[:len(prods)] {
		cpu += l.CPUNanos
	}
	for i, l := range out[:len(prods)] {
		share := wall / int64(len(prods))
		if cpu > 0 {
			share = int64(float64(wall) * float64(l.CPUNanos) / float64(cpu))
		}
		s.prof.Add(bricks[i], share, l.FLOPs, l.BytesRead)
	}
}

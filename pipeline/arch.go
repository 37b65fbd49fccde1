package pipeline

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/infertrace/infertrace/tensor"
)

// Architecture binds the weights of one model family, by tensor name, into
// the layout the forward pass runs. Adding an architecture is one file with
// a Bind method and one Register call in its init func.
type Architecture interface {
	// Bind looks up and shape-checks every weight the forward pass needs.
	// It fails naming the first missing or mis-shaped tensor.
	Bind(p Params, b *Binder) (*Weights, error)
}

var (
	archMu sync.RWMutex
	archs  = map[string]Architecture{}
)

// Register makes an architecture available under its GGUF name
// (general.architecture, e.g. "llama"). Registering a name twice panics:
// it is a programming error caught at init.
func Register(name string, a Architecture) {
	archMu.Lock()
	defer archMu.Unlock()
	if _, dup := archs[name]; dup {
		panic("pipeline: architecture registered twice: " + name)
	}
	archs[name] = a
}

// Architectures lists the registered architecture names, sorted.
func Architectures() []string {
	archMu.RLock()
	defer archMu.RUnlock()
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupArch(name string) (Architecture, error) {
	archMu.RLock()
	a, ok := archs[name]
	archMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unsupported architecture %q (supported: %v)", name, Architectures())
	}
	return a, nil
}

// Weights is a bound model: every matrix as a view of the file mapping,
// the small vectors (norms, biases) dequantized to float32.
type Weights struct {
	TokenEmbd  tensor.Matrix // NVocab rows of NEmbd
	Layers     []LayerWeights
	OutputNorm []float32
	Output     tensor.Matrix // NVocab rows of NEmbd; TokenEmbd when tied
	OutputName string        // "output.weight" or "token_embd.weight" (tied)
}

// LayerWeights are the weights of one transformer block. Bq, Bk, Bv are
// nil for architectures without attention biases.
type LayerWeights struct {
	AttnNorm       []float32
	Wq, Wk, Wv, Wo tensor.Matrix
	Bq, Bk, Bv     []float32
	FFNNorm        []float32
	Gate, Up, Down tensor.Matrix
	names          layerNames
}

// layerNames holds the precomputed weight and op names of one layer so that
// the hot path never formats strings.
type layerNames struct {
	wq, wk, wv, wo, gate, up, down string
	ops                            [numStages]string // "blk.3.ffn_out"
}

// Lookup finds a tensor by name; ok is false when the file has no such
// tensor.
type Lookup func(name string) (t *tensor.Tensor, ok bool)

// Binder resolves weights by name and checks their shapes, keeping the
// first error so that Bind implementations read as a plain list.
type Binder struct {
	lookup Lookup
	err    error
}

// NewBinder returns a Binder over lookup.
func NewBinder(lookup Lookup) *Binder { return &Binder{lookup: lookup} }

// Err returns the first error met, or nil.
func (b *Binder) Err() error { return b.err }

// Has reports whether the file holds a tensor of that name.
func (b *Binder) Has(name string) bool {
	_, ok := b.lookup(name)
	return ok
}

func (b *Binder) get(name string, dims ...int) *tensor.Tensor {
	if b.err != nil {
		return nil
	}
	t, ok := b.lookup(name)
	if !ok {
		b.err = fmt.Errorf("missing tensor %s (want shape %v)", name, dims)
		return nil
	}
	if !slices.Equal(t.Dims, dims) {
		b.err = fmt.Errorf("tensor %s has shape %v, want %v", name, t.Dims, dims)
		return nil
	}
	if _, err := tensor.RowBytes(t.Type, t.Cols()); err != nil {
		b.err = fmt.Errorf("tensor %s: %w", name, err)
		return nil
	}
	if want := expectBytes(t); want < 0 || len(t.Data) < want {
		b.err = fmt.Errorf("tensor %s: %d data bytes, want %d", name, len(t.Data), want)
		return nil
	}
	return t
}

func expectBytes(t *tensor.Tensor) int {
	rb, err := tensor.RowBytes(t.Type, t.Cols())
	if err != nil {
		return -1
	}
	return rb * t.Rows()
}

// Matrix binds a 2-D weight of rows rows of cols values (GGML dims
// [cols, rows]).
func (b *Binder) Matrix(name string, cols, rows int) tensor.Matrix {
	t := b.get(name, cols, rows)
	if t == nil {
		return tensor.Matrix{}
	}
	return t.Matrix()
}

// Vector binds a 1-D weight of n values and dequantizes it to float32.
func (b *Binder) Vector(name string, n int) []float32 {
	t := b.get(name, n)
	if t == nil {
		return nil
	}
	out := make([]float32, n)
	if err := tensor.DequantizeRow(t.Type, t.Data, out); err != nil {
		b.err = fmt.Errorf("tensor %s: %w", name, err)
		return nil
	}
	return out
}

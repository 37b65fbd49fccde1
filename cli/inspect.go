package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/tensor"
)

// inspectMaxItems is how many array elements inspect shows before
// abbreviating to "[a, b, c, ... (N items)]".
const inspectMaxItems = 8

// inspectMaxString is the longest string value shown in full in text mode
// (chat templates run to kilobytes).
const inspectMaxString = 120

var inspectFlags struct {
	json, stats, tensors, demo bool
}

func init() {
	cmd := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Show a model file's format, config, tokenizer, metadata and tensors",
		Long: `inspect opens a GGUF file, a .safetensors file, or a Hugging Face model
directory (model.safetensors or model.safetensors.index.json + config.json)
without reading the tensor data, and prints the format and version, the
architecture and model config, a tokenizer summary and every metadata key
(long arrays abbreviated). --tensors adds a table of tensors (name, type,
shape, bytes, offset); --stats dequantizes every tensor and adds its
min/max/mean/std and NaN/Inf counts; --json prints the same as one JSON
document. A malformed file is reported in one line and exits 2.`,
		Example: `  infertrace inspect stories260K.gguf
  infertrace inspect --tensors ./Qwen2.5-0.5B-Instruct/
  infertrace inspect --stats --json model.gguf | jq '.tensors[] | select(.stats.nan > 0)'
  infertrace inspect --demo`,
		Args: cobra.MaximumNArgs(1),
		RunE: runInspect,
	}
	fs := cmd.Flags()
	fs.BoolVar(&inspectFlags.json, "json", false, "print one JSON document")
	fs.BoolVar(&inspectFlags.stats, "stats", false, "dequantize every tensor and show its statistics (implies --tensors)")
	fs.BoolVar(&inspectFlags.tensors, "tensors", false, "list every tensor: name, type, shape, bytes, offset")
	fs.BoolVar(&inspectFlags.demo, "demo", false, "inspect the built-in demo model instead of a file")
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		help(c, args)
		resetInspectFlags(c) // --help skips RunE; do not leave it set
	})
	Root.AddCommand(cmd)
}

// resetInspectFlags restores the flags to their defaults: they are
// package state, and tests run several Executes in one process.
func resetInspectFlags(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) { _ = f.Value.Set(f.DefValue); f.Changed = false })
}

func runInspect(cmd *cobra.Command, args []string) error {
	opts := inspectFlags
	defer resetInspectFlags(cmd)

	var f *loader.File
	var err error
	switch {
	case opts.demo && len(args) > 0:
		return BadInput(errors.New("inspect: give either MODEL or --demo, not both"))
	case opts.demo:
		f, err = loader.FromBytes(fixtures.DemoName+".gguf", fixtures.Demo())
	case len(args) == 0:
		return BadInput(errors.New("inspect: missing MODEL (a .gguf or .safetensors file or a model directory), or use --demo"))
	default:
		f, err = loader.Open(args[0])
	}
	if err != nil {
		return BadInput(err)
	}
	defer f.Close()

	rep := newInspectReport(f, opts.tensors || opts.stats, opts.stats)
	out := cmd.OutOrStdout()
	if opts.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	return rep.writeText(out)
}

// inspectReport is everything inspect shows; it is also the --json shape.
type inspectReport struct {
	Path        string          `json:"path"`
	Format      string          `json:"format"`
	Version     uint32          `json:"version,omitempty"`
	Size        int64           `json:"size"`
	Alignment   int             `json:"alignment"`
	DataOffset  int64           `json:"data_offset"`
	Arch        string          `json:"architecture,omitempty"`
	Config      *configJSON     `json:"config,omitempty"`
	ConfigError string          `json:"config_error,omitempty"`
	Tokenizer   *tokenizerInfo  `json:"tokenizer,omitempty"`
	Metadata    []metadataEntry `json:"metadata"`
	TensorCount int             `json:"tensor_count"`
	Parameters  int64           `json:"parameters"`
	TensorBytes int64           `json:"tensor_bytes"`
	Tensors     []tensorEntry   `json:"tensors,omitempty"`
}

type configJSON struct {
	Arch         string  `json:"arch"`
	Name         string  `json:"name"`
	NEmbd        int     `json:"n_embd"`
	NLayer       int     `json:"n_layer"`
	NHead        int     `json:"n_head"`
	NHeadKV      int     `json:"n_head_kv"`
	NFF          int     `json:"n_ff"`
	NVocab       int     `json:"n_vocab"`
	NCtx         int     `json:"n_ctx"`
	HeadDim      int     `json:"head_dim"`
	RopeDim      int     `json:"rope_dim"`
	RopeFreqBase float64 `json:"rope_freq_base"`
	RopeType     string  `json:"rope_type"`
	RMSEps       float64 `json:"rms_eps"`
	TiedOutput   bool    `json:"tied_output"`
	FileType     string  `json:"file_type"`
}

type tokenizerInfo struct {
	Model     string     `json:"model"`
	VocabSize int        `json:"vocab_size,omitempty"`
	BOS       *tokenInfo `json:"bos,omitempty"`
	EOS       *tokenInfo `json:"eos,omitempty"`
	File      string     `json:"file,omitempty"` // safetensors: tokenizer.json
}

type tokenInfo struct {
	ID    uint64 `json:"id"`
	Piece string `json:"piece,omitempty"`
}

type metadataEntry struct {
	Key   string `json:"key"`
	Type  string `json:"type"`          // "u32", "array[string]", ...
	Value any    `json:"value"`         // scalars as JSON values; arrays as abbreviated text
	Len   *int   `json:"len,omitempty"` // arrays only
	text  string `json:"-"`             // display form
}

type tensorEntry struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Shape      []int          `json:"shape"`
	Bytes      int            `json:"bytes"`
	Offset     int64          `json:"offset"`
	Stats      *stats.Summary `json:"stats,omitempty"`
	StatsError string         `json:"stats_error,omitempty"`
}

func newInspectReport(f *loader.File, withTensors, withStats bool) *inspectReport {
	r := &inspectReport{Path: f.Path, Format: f.Format, Version: f.Version, Size: f.Size,
		Alignment: f.Alignment, DataOffset: f.DataOffset, TensorCount: len(f.Tensors)}
	r.Arch, _ = f.Meta.String("general.architecture")
	if c, err := f.Config(); err != nil {
		r.ConfigError = err.Error()
	} else {
		r.Config = &configJSON{c.Arch, c.Name, c.NEmbd, c.NLayer, c.NHead, c.NHeadKV, c.NFF, c.NVocab, c.NCtx,
			c.HeadDim, c.RopeDim, c.RopeFreqBase, c.RopeType.String(), c.RMSEps, c.TiedOutput, c.FileType}
	}
	r.Tokenizer = tokenizerSummary(f)
	for _, k := range f.Meta.Keys() {
		v, _ := f.Meta.Get(k)
		r.Metadata = append(r.Metadata, metadataJSON(k, v))
	}
	for _, t := range f.Tensors {
		r.Parameters += int64(t.Elements())
		r.TensorBytes += int64(len(t.Data))
	}
	if withTensors {
		r.Tensors = make([]tensorEntry, len(f.Tensors))
		for i, t := range f.Tensors {
			off, _ := f.Offset(t.Name)
			r.Tensors[i] = tensorEntry{Name: t.Name, Type: t.Type.String(), Shape: t.Dims, Bytes: len(t.Data), Offset: off}
		}
		if withStats {
			tensorStats(f.Tensors, r.Tensors)
		}
	}
	return r
}

// tensorStats dequantizes the tensors and summarises them, a bounded
// number at a time (each holds a float32 copy of one tensor).
func tensorStats(ts []*tensor.Tensor, out []tensorEntry) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ts)) {
		wg.Go(func() {
			for i := range jobs {
				xs, err := tensor.Dequantize(ts[i])
				if err != nil {
					out[i].StatsError = err.Error()
					continue
				}
				s := stats.Compute(xs)
				out[i].Stats = &s
			}
		})
	}
	for i := range ts {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

func tokenizerSummary(f *loader.File) *tokenizerInfo {
	m := f.Meta
	model, ok := m.String("tokenizer.ggml.model")
	if !ok {
		if f.Dir != "" {
			p := filepath.Join(f.Dir, "tokenizer.json")
			if _, err := os.Stat(p); err == nil {
				return &tokenizerInfo{Model: "huggingface", File: p}
			}
		}
		return nil
	}
	ti := &tokenizerInfo{Model: model}
	toks, _ := m.Strings("tokenizer.ggml.tokens")
	ti.VocabSize = len(toks)
	tok := func(key string) *tokenInfo {
		id, ok := m.Uint(key)
		if !ok {
			return nil
		}
		t := &tokenInfo{ID: id}
		if id < uint64(len(toks)) {
			t.Piece = toks[id]
		}
		return t
	}
	ti.BOS = tok("tokenizer.ggml.bos_token_id")
	ti.EOS = tok("tokenizer.ggml.eos_token_id")
	return ti
}

func metadataJSON(key string, v loader.Value) metadataEntry {
	e := metadataEntry{Key: key, Type: v.Type.String(), text: v.Format(inspectMaxItems)}
	switch v.Type {
	case loader.TypeArray:
		e.Type = "array[" + v.Elem.String() + "]"
		n := v.Len()
		e.Len = &n
		e.Value = e.text
	case loader.TypeString:
		e.Value, _ = v.Str()
		if s := e.Value.(string); len(s) > inspectMaxString {
			e.text = strconv.Quote(s[:inspectMaxString]) + fmt.Sprintf("... (%d bytes)", len(s))
		}
	case loader.TypeBool:
		e.Value, _ = v.Bool()
	case loader.TypeFloat32, loader.TypeFloat64:
		x, _ := v.Float()
		if math.IsNaN(x) || math.IsInf(x, 0) {
			e.Value = e.text // JSON has no NaN/Inf
		} else {
			e.Value = x
		}
	default:
		if x, ok := v.Int(); ok {
			e.Value = x
		} else {
			e.Value, _ = v.Uint()
		}
	}
	return e
}

func (r *inspectReport) writeText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("model", "%s (%s bytes)", r.Path, groupDigits(r.Size))
	if r.Format == "gguf" {
		row("format", "GGUF v%d, alignment %d, data offset %d", r.Version, r.Alignment, r.DataOffset)
	} else {
		row("format", "safetensors, data offset %d", r.DataOffset)
	}
	if c := r.Config; c != nil {
		row("arch", "%s, name %q, file type %s", c.Arch, c.Name, c.FileType)
		row("config", "n_embd %d, n_layer %d, n_head %d, n_head_kv %d, head_dim %d, n_ff %d, n_vocab %d, n_ctx %d",
			c.NEmbd, c.NLayer, c.NHead, c.NHeadKV, c.HeadDim, c.NFF, c.NVocab, c.NCtx)
		out := "separate output.weight"
		if c.TiedOutput {
			out = "tied (token_embd.weight is the LM head)"
		}
		row("", "rope %s, dim %d, base %g; rms_eps %.6g; output: %s", c.RopeType, c.RopeDim, c.RopeFreqBase, c.RMSEps, out)
	} else {
		if r.Arch != "" {
			row("arch", "%s", r.Arch)
		}
		row("config", "unavailable: %s", r.ConfigError)
	}
	switch t := r.Tokenizer; {
	case t == nil:
		row("tokenizer", "none")
	case t.File != "":
		row("tokenizer", "%s (%s)", t.File, t.Model)
	default:
		s := fmt.Sprintf("%s, %d tokens", t.Model, t.VocabSize)
		for _, sp := range []struct {
			name string
			t    *tokenInfo
		}{{"BOS", t.BOS}, {"EOS", t.EOS}} {
			if sp.t != nil {
				s += fmt.Sprintf(", %s %d %q", sp.name, sp.t.ID, sp.t.Piece)
			}
		}
		row("tokenizer", "%s", s)
	}
	row("tensors", "%d, %s parameters, %s bytes", r.TensorCount, groupDigits(r.Parameters), groupDigits(r.TensorBytes))
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nmetadata (%d keys)\n", len(r.Metadata))
	for _, e := range r.Metadata {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Key, e.Type, e.text)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if r.Tensors == nil {
		return nil
	}
	fmt.Fprintf(w, "\ntensors (%d)\n", len(r.Tensors))
	withStats := false
	for _, t := range r.Tensors {
		withStats = withStats || t.Stats != nil || t.StatsError != ""
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	hdr := "  name\ttype\tshape\tbytes\toffset\t"
	if withStats {
		hdr += "min\tmax\tmean\tstd\tNaN\tInf\t"
	}
	fmt.Fprintln(tw, hdr)
	for _, t := range r.Tensors {
		line := fmt.Sprintf("  %s\t%s\t%s\t%d\t%d\t", t.Name, t.Type, shapeText(t.Shape), t.Bytes, t.Offset)
		switch {
		case t.Stats != nil:
			s := t.Stats
			line += fmt.Sprintf("%.4g\t%.4g\t%.4g\t%.4g\t%d\t%d\t", s.Min, s.Max, s.Mean, s.Std, s.NaN, s.Inf)
		case t.StatsError != "":
			line += "error: " + t.StatsError + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func shapeText(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// groupDigits writes n with thousands separators: 1185376 → "1,185,376".
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

package loader

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/edsrzf/mmap-go"

	"github.com/infertrace/infertrace/tensor"
)

const (
	// maxSafetensorsHeader caps the JSON header: real headers are a few
	// hundred KB even for 70B models.
	maxSafetensorsHeader = 100 << 20
	stSingle             = "model.safetensors"
	stIndex              = "model.safetensors.index.json"
	hfConfigName         = "config.json"
)

var stDTypes = map[string]tensor.Type{"F32": tensor.F32, "F16": tensor.F16, "BF16": tensor.BF16}

// looksLikeSafetensors recognises the 8-byte header length followed by
// the opening brace of the JSON header.
func looksLikeSafetensors(data []byte) bool {
	return len(data) >= 9 && data[8] == '{'
}

// stTensor is one parsed safetensors entry, before renaming.
type stTensor struct {
	hfName string
	t      *tensor.Tensor
	begin  uint64 // data_offsets relative to the data section
	end    uint64
	abs    int64 // offset of the data in the file
}

// parseSafetensors parses the header of one safetensors file and returns
// its tensors in data order (HF names, GGML dim order) and the data
// section offset.
func parseSafetensors(name string, data []byte) ([]stTensor, int64, error) {
	bad := func(kind error, format string, args ...any) ([]stTensor, int64, error) {
		return nil, 0, formatErr(name, kind, format, args...)
	}
	if len(data) < 8 {
		return bad(ErrTruncated, "file is %d bytes, too short for the 8-byte safetensors header length", len(data))
	}
	hlen := binary.LittleEndian.Uint64(data)
	if hlen > uint64(len(data)-8) {
		return bad(ErrTooLarge, "safetensors header length %d is larger than the file (%d bytes)", hlen, len(data))
	}
	if hlen > maxSafetensorsHeader {
		return bad(ErrTooLarge, "safetensors header length %d exceeds the %d-byte limit", hlen, maxSafetensorsHeader)
	}
	header := data[8 : 8+hlen]
	keys, raw, err := jsonObject(header)
	if err != nil {
		return nil, 0, &FormatError{File: name, Kind: ErrBadHeader, Cause: err,
			Problem: "safetensors header is not a JSON object: " + oneLine(err.Error())}
	}
	dataStart := 8 + hlen
	dataLen := uint64(len(data)) - dataStart
	out := make([]stTensor, 0, len(raw))
	seen := make(map[string]bool, len(keys))
	for i, hf := range keys {
		msg := raw[i]
		if seen[hf] {
			return bad(ErrDuplicate, "duplicate tensor name %q in the safetensors header", hf)
		}
		seen[hf] = true
		if hf == "__metadata__" {
			continue
		}
		var e struct {
			DType   string   `json:"dtype"`
			Shape   []uint64 `json:"shape"`
			Offsets []uint64 `json:"data_offsets"`
		}
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return nil, 0, &FormatError{File: name, Kind: ErrBadHeader, Cause: err,
				Problem: "safetensors entry " + quote(hf) + ": want {dtype, shape, data_offsets}: " + oneLine(err.Error())}
		}
		if e.DType == "" || e.Shape == nil || len(e.Offsets) != 2 {
			return bad(ErrBadHeader, "safetensors entry %q: want dtype, shape and two data_offsets", hf)
		}
		typ, ok := stDTypes[e.DType]
		if !ok {
			return bad(ErrUnknownDType, "tensor %q has dtype %s; supported: F32, F16, BF16", hf, e.DType)
		}
		if len(e.Shape) > maxDims {
			return bad(ErrBadShape, "tensor %q has %d dimensions (at most %d)", hf, len(e.Shape), maxDims)
		}
		elems, esize := uint64(1), uint64(2)
		if typ == tensor.F32 {
			esize = 4
		}
		dims := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			hi, lo := bits.Mul64(elems, d)
			if hi != 0 || lo > math.MaxInt64/4 {
				return bad(ErrBadShape, "tensor %q shape %v: the element count overflows", hf, e.Shape)
			}
			elems = lo
			dims[len(e.Shape)-1-i] = int(d) // HF [rows, cols] → GGML [cols, rows]
		}
		begin, end := e.Offsets[0], e.Offsets[1]
		if begin > end || end > dataLen {
			return bad(ErrOutOfBounds, "tensor %q data_offsets [%d, %d] lie outside the data section (%d bytes)", hf, begin, end, dataLen)
		}
		if end-begin != elems*esize {
			return bad(ErrBadShape, "tensor %q data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", hf, begin, end, end-begin, e.DType, e.Shape, elems*esize)
		}
		a, b := dataStart+begin, dataStart+end
		out = append(out, stTensor{hfName: hf, begin: begin, end: end, abs: int64(a),
			t: &tensor.Tensor{Name: hf, Type: typ, Dims: dims, Data: data[a:b:b]}})
	}
	slices.SortFunc(out, func(a, b stTensor) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end), strings.Compare(a.hfName, b.hfName))
	})
	// As for GGUF: compare with the non-empty tensor reaching furthest so
	// far, so that an empty one in between cannot hide an overlap.
	var a *stTensor
	for i := range out {
		b := &out[i]
		if b.end == b.begin {
			continue
		}
		if a != nil && a.end > b.begin {
			return bad(ErrOverlap, "tensor %q data_offsets [%d, %d] overlap tensor %q [%d, %d]", b.hfName, b.begin, b.end, a.hfName, a.begin, a.end)
		}
		if a == nil || b.end > a.end {
			a = b
		}
	}
	return out, int64(dataStart), nil
}

// openSafetensorsFile opens a single mapped safetensors file; config.json
// is looked up beside it.
func openSafetensorsFile(path string, m mmap.MMap) (*File, error) {
	dir := filepath.Dir(path)
	f := &File{Path: path, Format: "safetensors", Size: int64(len(m)), Dir: dir, Alignment: 1, mappings: []mmap.MMap{m}}
	ts, off, err := parseSafetensors(path, m)
	if err != nil {
		return nil, err
	}
	f.DataOffset = off
	if err := f.finishSafetensors(ts); err != nil {
		return nil, err
	}
	return f, nil
}

// openSafetensorsDir opens model.safetensors.index.json (sharded) or
// model.safetensors in dir.
func openSafetensorsDir(dir string) (_ *File, err error) {
	f := &File{Path: dir, Format: "safetensors", Dir: dir, Alignment: 1}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	var shards []string
	var weightMap map[string]string
	indexPath := filepath.Join(dir, stIndex)
	if b, rerr := os.ReadFile(indexPath); rerr == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, &FormatError{File: indexPath, Kind: ErrBadHeader, Cause: err, Problem: "not a valid index: " + oneLine(err.Error())}
		}
		if len(idx.WeightMap) == 0 {
			return nil, formatErr(indexPath, ErrBadHeader, "weight_map is missing or empty")
		}
		weightMap = idx.WeightMap
		// A set, not slices.Contains: a hostile index naming 100,000
		// distinct shards took minutes of quadratic deduplication.
		seenShard := map[string]bool{}
		for t, s := range weightMap {
			if s == "" || s != filepath.Base(s) || s == "." || s == ".." {
				return nil, formatErr(indexPath, ErrBadHeader, "tensor %q maps to shard %q, which is not a file name in the model directory", t, s)
			}
			if !seenShard[s] {
				seenShard[s] = true
				shards = append(shards, s)
			}
		}
		slices.Sort(shards)
	} else if !errors.Is(rerr, os.ErrNotExist) {
		return nil, &FormatError{File: indexPath, Kind: ErrNotModel, Cause: rerr, Problem: "cannot read: " + errText(rerr)}
	} else if _, serr := os.Stat(filepath.Join(dir, stSingle)); serr == nil {
		shards = []string{stSingle}
	} else {
		return nil, formatErr(dir, ErrNotModel, "directory has neither %s nor %s", stSingle, stIndex)
	}

	var all []stTensor
	seen := map[string]string{}
	for i, s := range shards {
		p := filepath.Join(dir, s)
		m, _, err := mapFile(p)
		if err != nil {
			return nil, err
		}
		f.mappings = append(f.mappings, m)
		f.Size += int64(len(m))
		if !looksLikeSafetensors(m) && len(m) >= 9 {
			return nil, formatErr(p, ErrNotModel, "not a safetensors file (byte 8 is %q, want '{')", m[8])
		}
		ts, off, err := parseSafetensors(p, m)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			f.DataOffset = off
		}
		for _, t := range ts {
			if prev, dup := seen[t.hfName]; dup {
				return nil, formatErr(p, ErrDuplicate, "tensor %q is also in shard %s", t.hfName, prev)
			}
			seen[t.hfName] = s
			if weightMap != nil {
				if want, ok := weightMap[t.hfName]; ok && want != s {
					return nil, formatErr(p, ErrBadHeader, "tensor %q is in shard %s but %s maps it to %s", t.hfName, s, stIndex, want)
				}
			}
		}
		all = append(all, ts...)
	}
	for t, s := range weightMap {
		if _, ok := seen[t]; !ok {
			return nil, formatErr(filepath.Join(dir, s), ErrMissingTensor, "tensor %q listed in %s is not in this shard", t, stIndex)
		}
	}
	if err := f.finishSafetensors(all); err != nil {
		return nil, err
	}
	return f, nil
}

// finishSafetensors renames tensors to GGUF names and builds the metadata
// from config.json (when present in f.Dir).
func (f *File) finishSafetensors(ts []stTensor) error {
	f.Tensors = make([]*tensor.Tensor, len(ts))
	f.index = make(map[string]int, len(ts))
	f.offsets = make([]int64, len(ts))
	for i, st := range ts {
		f.offsets[i] = st.abs
		st.t.Name = ggufName(st.hfName)
		if _, dup := f.index[st.t.Name]; dup {
			return formatErr(f.Path, ErrDuplicate, "tensor %q (from %q) appears twice", st.t.Name, st.hfName)
		}
		f.index[st.t.Name] = i
		f.Tensors[i] = st.t
	}
	f.Meta = newMetadata(16)
	cfgPath := filepath.Join(f.Dir, hfConfigName)
	b, err := os.ReadFile(cfgPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil // tensors only; Config() will say what is missing
	}
	if err != nil {
		return &FormatError{File: cfgPath, Kind: ErrConfig, Cause: err, Problem: "cannot read: " + errText(err)}
	}
	return hfMetadata(f.Meta, cfgPath, b, filepath.Base(filepath.Clean(f.Dir)))
}

var hfLayer = regexp.MustCompile(`^model\.layers\.(\d+)\.(.+)$`)

var hfLayerNames = map[string]string{
	"input_layernorm.weight":          "attn_norm.weight",
	"post_attention_layernorm.weight": "ffn_norm.weight",
	"self_attn.q_proj.weight":         "attn_q.weight",
	"self_attn.k_proj.weight":         "attn_k.weight",
	"self_attn.v_proj.weight":         "attn_v.weight",
	"self_attn.o_proj.weight":         "attn_output.weight",
	"self_attn.q_proj.bias":           "attn_q.bias",
	"self_attn.k_proj.bias":           "attn_k.bias",
	"self_attn.v_proj.bias":           "attn_v.bias",
	"self_attn.o_proj.bias":           "attn_output.bias",
	"mlp.gate_proj.weight":            "ffn_gate.weight",
	"mlp.up_proj.weight":              "ffn_up.weight",
	"mlp.down_proj.weight":            "ffn_down.weight",
}

// ggufName maps a Hugging Face tensor name to its GGUF name; names with
// no GGUF equivalent are kept as they are.
func ggufName(hf string) string {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight"
	case "model.norm.weight":
		return "output_norm.weight"
	case "lm_head.weight":
		return "output.weight"
	}
	if m := hfLayer.FindStringSubmatch(hf); m != nil {
		if g, ok := hfLayerNames[m[2]]; ok {
			return "blk." + m[1] + "." + g
		}
	}
	return hf
}

// hfMetadata synthesises GGUF-style metadata keys from a Hugging Face
// config.json so that Config works the same for both formats.
func hfMetadata(m *Metadata, path string, b []byte, dirName string) error {
	var c struct {
		ModelType     string          `json:"model_type"`
		Architectures []string        `json:"architectures"`
		NameOrPath    string          `json:"_name_or_path"`
		Hidden        *uint64         `json:"hidden_size"`
		Layers        *uint64         `json:"num_hidden_layers"`
		Heads         *uint64         `json:"num_attention_heads"`
		KVHeads       *uint64         `json:"num_key_value_heads"`
		FF            *uint64         `json:"intermediate_size"`
		Vocab         *uint64         `json:"vocab_size"`
		Ctx           *uint64         `json:"max_position_embeddings"`
		HeadDim       *uint64         `json:"head_dim"`
		RopeTheta     *float64        `json:"rope_theta"`
		RMSEps        *float64        `json:"rms_norm_eps"`
		Tied          *bool           `json:"tie_word_embeddings"`
		RopeScaling   json.RawMessage `json:"rope_scaling"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return &FormatError{File: path, Kind: ErrConfig, Cause: err, Problem: "not a valid config.json: " + oneLine(err.Error())}
	}
	arch := c.ModelType
	for _, a := range c.Architectures {
		switch a {
		case "LlamaForCausalLM":
			arch = "llama"
		case "Qwen2ForCausalLM":
			arch = "qwen2"
		}
	}
	if arch == "" && len(c.Architectures) > 0 {
		arch = c.Architectures[0]
	}
	if arch == "" {
		return formatErr(path, ErrConfig, "neither model_type nor architectures is set")
	}
	name := dirName
	if c.NameOrPath != "" {
		name = filepath.Base(c.NameOrPath)
	}
	m.set("general.architecture", stringValue(arch))
	m.set("general.name", stringValue(name))
	ints := []struct {
		key string
		v   *uint64
	}{
		{"embedding_length", c.Hidden},
		{"block_count", c.Layers},
		{"attention.head_count", c.Heads},
		{"attention.head_count_kv", c.KVHeads},
		{"feed_forward_length", c.FF},
		{"vocab_size", c.Vocab},
		{"context_length", c.Ctx},
		{"attention.key_length", c.HeadDim},
		{"attention.value_length", c.HeadDim},
	}
	for _, k := range ints {
		if k.v != nil {
			m.set(arch+"."+k.key, uintValue(*k.v))
		}
	}
	if c.RopeTheta != nil {
		m.set(arch+".rope.freq_base", floatValue(*c.RopeTheta))
	}
	if c.RMSEps != nil {
		m.set(arch+".attention.layer_norm_rms_epsilon", floatValue(*c.RMSEps))
	}
	if c.Tied != nil {
		m.set(arch+".tie_word_embeddings", boolValue(*c.Tied))
	}
	if len(c.RopeScaling) > 0 && string(c.RopeScaling) != "null" {
		var rs struct {
			Type     string   `json:"type"`
			RopeType string   `json:"rope_type"`
			Factor   *float64 `json:"factor"`
		}
		_ = json.Unmarshal(c.RopeScaling, &rs) // an odd shape is reported as "unknown" scaling
		m.set(arch+".rope.scaling.type", stringValue(cmp.Or(rs.RopeType, rs.Type, "unknown")))
		if rs.Factor != nil {
			m.set(arch+".rope.scaling.factor", floatValue(*rs.Factor))
		}
	}
	return nil
}

// jsonObject decodes a JSON object into its keys and raw values in
// document order, keeping duplicate keys (encoding/json would silently
// keep the last one).
func jsonObject(b []byte) ([]string, []json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil {
		return nil, nil, err
	} else if tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("found %v, want an object", tok)
	}
	var keys []string
	var vals []json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key, _ := tok.(string) // object keys are always strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, key)
		vals = append(vals, v)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, errors.New("data after the header object")
	}
	return keys, vals, nil
}

// oneLine keeps error text from spilling over several lines.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

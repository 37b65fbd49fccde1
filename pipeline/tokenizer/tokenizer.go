// Package tokenizer turns text into token ids and back, matching llama.cpp
// (llama-vocab.cpp at c392e50): SentencePiece-style (SPM) vocabularies
// with score-based merging and byte fallback, and byte-level BPE
// vocabularies with the pre-tokenizer regexes of each
// tokenizer.ggml.pre type. Vocabularies come from GGUF metadata
// (FromMetadata), a Hugging Face tokenizer.json (FromHFDir), or a plain
// Vocab value (New).
package tokenizer

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Token types of tokenizer.ggml.token_type (llama_token_type).
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// Vocab is everything a tokenizer needs, independent of the file format.
// New takes the fields literally; FromMetadata fills in llama.cpp's
// defaults for keys a GGUF file leaves out.
type Vocab struct {
	Model          string    // "llama" (SPM) | "gpt2" (byte-level BPE)
	Pre            string    // tokenizer.ggml.pre ("" = "default"); BPE only
	Tokens         []string  // id -> piece
	Scores         []float32 // SPM merge scores (nil = all zero)
	Types          []int32   // id -> Type* (nil = all normal)
	Merges         []string  // BPE merges "left right", by rank
	BOS, EOS, UNK  int       // -1 when absent
	PAD            int       // -1 when absent
	AddBOS, AddEOS bool      // add BOS / EOS when EncodeOptions.AddSpecial
	AddSpacePrefix bool      // SPM: prefix text (and text after a special token) with a space
	// Name is general.name: llama.cpp gives some models' special tokens
	// whitespace-stripping attributes by name (Phi-3's strip the
	// whitespace after them).
	Name string
}

// EncodeOptions controls Encode.
type EncodeOptions struct {
	// AddSpecial adds BOS and EOS as the vocabulary asks (AddBOS, AddEOS).
	AddSpecial bool
	// ParseSpecial turns the text of control tokens (<s>, <|im_start|>)
	// into those tokens. User-defined tokens are always matched, as in
	// llama.cpp.
	ParseSpecial bool
}

// Tokenizer encodes and decodes text for one vocabulary. It is immutable
// after construction and safe for concurrent use.
type Tokenizer struct {
	model          string
	spm            bool // SentencePiece score-merging (else rank-merging BPE)
	pre            *pretokenizer
	preName        string
	tokens         []string
	scores         []float32
	types          []int32
	tokenID        map[string]int
	ranks          map[mergePair]int
	byteTokens     [256]int // SPM <0xNN> tokens, -1 when absent
	bos, eos, unk  int
	pad            int
	addBOS, addEOS bool
	addSpacePrefix bool
	ignoreMerges   bool
	byteLevel      bool // BPE over bytes_to_unicode-encoded text
	byteFallback   bool // non-byte-level BPE: unknown symbols become <0xNN>
	metaspace      bool // non-byte-level BPE: spaces are written as ▁
	// prefixFirstOnly adds the metaspace prefix to the first fragment only
	// (Metaspace prepend_scheme "first").
	prefixFirstOnly bool
	// bytePrefixSpace prefixes each fragment with a space unless it has one
	// (ByteLevel add_prefix_space).
	bytePrefixSpace bool
	special         []int        // control/user-defined/unknown ids, longest text first
	lstrip, rstrip  map[int]bool // special tokens that eat the whitespace before/after them
	eog             map[int]bool
}

const spmSpace = "\u2581" // ▁

// New builds a tokenizer from v. It fails on an unknown model or
// pre-tokenizer, an empty vocabulary, inconsistent array lengths,
// malformed merges, or special token ids out of range.
func New(v Vocab) (*Tokenizer, error) { return build(v, nil) }

// build is New, with the BPE flavour taken from a tokenizer.json instead
// of v.Model/v.Pre when hf is not nil.
func build(v Vocab, hf *hfFlavour) (*Tokenizer, error) {
	n := len(v.Tokens)
	if n == 0 {
		return nil, errors.New("tokenizer: empty vocabulary")
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(v.Types), n)
	}
	t := &Tokenizer{
		model:          v.Model,
		tokens:         make([]string, n),
		scores:         append([]float32(nil), v.Scores...),
		types:          v.Types,
		tokenID:        make(map[string]int, n),
		bos:            v.BOS,
		eos:            v.EOS,
		unk:            v.UNK,
		pad:            v.PAD,
		addBOS:         v.AddBOS,
		addEOS:         v.AddEOS,
		addSpacePrefix: v.AddSpacePrefix,
	}
	if v.Scores == nil {
		t.scores = make([]float32, n)
	}
	if t.types == nil {
		t.types = make([]int32, n)
		for i := range t.types {
			t.types[i] = TypeNormal
		}
	} else {
		t.types = append([]int32(nil), v.Types...)
	}
	for i, s := range v.Tokens {
		if s == "" { // as llama.cpp, so that every id has a distinct text
			s = fmt.Sprintf("[EMPTY_%d]", i)
		}
		t.tokens[i] = s
		t.tokenID[s] = i
	}
	for _, id := range []struct {
		name string
		v    int
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}, {"PAD", v.PAD}} {
		if id.v < -1 || id.v >= n {
			return nil, fmt.Errorf("tokenizer: %s id %d outside the vocabulary of %d tokens", id.name, id.v, n)
		}
	}
	if v.AddBOS && v.BOS < 0 {
		return nil, errors.New("tokenizer: add_bos_token is set but there is no BOS token")
	}
	if v.AddEOS && v.EOS < 0 {
		return nil, errors.New("tokenizer: add_eos_token is set but there is no EOS token")
	}
	for i := range t.byteTokens {
		t.byteTokens[i] = -1
		if id, ok := t.tokenID[fmt.Sprintf("<0x%02X>", i)]; ok {
			t.byteTokens[i] = id
		}
	}
	switch {
	case hf != nil:
		t.pre, t.preName = hf.pre, hf.preName
		t.byteLevel, t.metaspace, t.byteFallback = hf.byteLevel, !hf.byteLevel, hf.byteFallback
		t.ignoreMerges, t.prefixFirstOnly, t.bytePrefixSpace = hf.ignoreMerges, hf.prefixFirstOnly, hf.bytePrefixSpace
		t.ranks = hf.ranks
	case v.Model == "llama":
		t.spm = true
	case v.Model == "gpt2":
		pre := v.Pre
		if pre == "" {
			pre = "default"
		}
		spec, ok := preTypes[pre]
		if !ok {
			return nil, fmt.Errorf("tokenizer: unknown pre-tokenizer type %q (known: %s)", v.Pre, strings.Join(KnownPreTypes(), ", "))
		}
		p, err := compilePre(spec.regexes)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: pre-tokenizer %q: %w", pre, err)
		}
		t.pre, t.preName, t.ignoreMerges, t.byteLevel = p, pre, spec.ignoreMerges, true
		if err := t.setMerges(v.Merges); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q (want \"llama\" or \"gpt2\")", v.Model)
	}
	t.finish(v.Name, v.Pre)
	if hf != nil {
		for _, id := range hf.lstrip {
			t.lstrip[id] = true
		}
		for _, id := range hf.rstrip {
			t.rstrip[id] = true
		}
	}
	return t, nil
}

// setMerges parses "left right" merges into the rank table, splitting at
// the first space after the first byte as llama.cpp does.
func (t *Tokenizer) setMerges(merges []string) error {
	t.ranks = make(map[mergePair]int, len(merges))
	for i, m := range merges {
		if len(m) < 2 {
			return fmt.Errorf("tokenizer: merge %d %q is not \"left right\"", i, m)
		}
		j := strings.IndexByte(m[1:], ' ')
		if j < 0 {
			return fmt.Errorf("tokenizer: merge %d %q is not \"left right\"", i, m)
		}
		p := mergePair{m[:j+1], m[j+2:]}
		if _, dup := t.ranks[p]; !dup {
			t.ranks[p] = i
		}
	}
	return nil
}

// eogTexts are the token texts llama.cpp treats as end of generation (and
// forces to control type), besides EOS.
var eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
	"<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>"}

// finish derives the end-of-generation set, the special-token cache and
// the per-model strip attributes (llama_vocab::impl::load).
func (t *Tokenizer) finish(name, pre string) {
	t.eog = map[int]bool{}
	for _, s := range eogTexts {
		if id, ok := t.tokenID[s]; ok {
			t.eog[id] = true
			t.types[id] = TypeControl
		}
	}
	if t.eos >= 0 {
		t.eog[t.eos] = true
	}
	for id, ty := range t.types {
		if ty == TypeControl || ty == TypeUserDefined || ty == TypeUnknown {
			t.special = append(t.special, id)
		}
	}
	sort.SliceStable(t.special, func(i, j int) bool {
		return len(t.tokens[t.special[i]]) > len(t.tokens[t.special[j]])
	})
	t.lstrip, t.rstrip = map[int]bool{}, map[int]bool{}
	name = strings.ToLower(name)
	switch {
	case strings.Contains(pre, "jina-v2-de") || strings.Contains(pre, "jina-v2-es") || strings.Contains(pre, "jina-v2-code"):
		if id, ok := t.tokenID["<mask>"]; ok {
			t.lstrip[id] = true
		}
	case strings.Contains(name, "phi-3") || strings.Contains(name, "phi3"):
		for _, id := range t.special {
			t.rstrip[id] = true
		}
		if id, ok := t.tokenID["</s>"]; ok {
			t.rstrip[id] = true
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if id, ok := t.tokenID[s]; ok {
				delete(t.rstrip, id)
			}
		}
	}
}

// cSpace is C's isspace in the "C" locale, which llama.cpp strips with.
const cSpace = " \t\n\v\f\r"

// fragment is a piece of the input: raw text, or a special token (id >= 0).
type fragment struct {
	text string
	id   int
}

// partition splits out the text of special tokens, longest token first,
// as llama_vocab::impl::tokenizer_st_partition. Control and unknown tokens
// are matched only with parseSpecial; user-defined tokens always.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, id: -1}}
	for _, id := range t.special {
		ty := t.types[id]
		if !parseSpecial && ty != TypeUserDefined {
			continue
		}
		tok := t.tokens[id]
		var next []fragment
		changed := false
		for _, f := range frags {
			if f.id >= 0 || !strings.Contains(f.text, tok) {
				next = append(next, f)
				continue
			}
			changed = true
			rest := f.text
			for {
				i := strings.Index(rest, tok)
				if i < 0 {
					break
				}
				left := rest[:i]
				if t.lstrip[id] {
					left = strings.TrimRight(left, cSpace)
				}
				if left != "" {
					next = append(next, fragment{text: left, id: -1})
				}
				next = append(next, fragment{id: id})
				rest = rest[i+len(tok):]
				if t.rstrip[id] {
					rest = strings.TrimLeft(rest, cSpace)
				}
			}
			if rest != "" {
				next = append(next, fragment{text: rest, id: -1})
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}

// Encode tokenizes text. It never fails on any input for the vocabularies
// of the supported models; an error means the vocabulary cannot represent
// a byte of the text at all (no byte token and no unknown token).
func (t *Tokenizer) Encode(text string, opts EncodeOptions) ([]int, error) {
	var out []int
	if opts.AddSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	var frags []fragment
	if text != "" {
		frags = t.partition(text, opts.ParseSpecial)
	}
	prevSpecial := true // the first fragment gets the dummy-prefix space
	var err error
	for fi, f := range frags {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			continue
		}
		switch {
		case t.spm:
			s := f.text
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out, err = t.encodeSPM(strings.ReplaceAll(s, " ", spmSpace), out)
			if err != nil {
				return nil, fmt.Errorf("tokenize: %w", err)
			}
		case t.metaspace:
			s := strings.ReplaceAll(f.text, " ", spmSpace)
			if t.addSpacePrefix && (prevSpecial && !t.prefixFirstOnly || fi == 0) {
				s = spmSpace + s
			}
			out, err = t.encodeBPE(s, out)
		case t.bytePrefixSpace && !strings.HasPrefix(f.text, " "):
			out, err = t.encodeBPE(" "+f.text, out)
		default:
			out, err = t.encodeBPE(f.text, out)
		}
		if err != nil {
			return nil, fmt.Errorf("tokenize: %w", err)
		}
		prevSpecial = false
	}
	if opts.AddSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out, nil
}

// valid reports whether id is in the vocabulary.
func (t *Tokenizer) valid(id int) bool { return id >= 0 && id < len(t.tokens) }

// Piece returns the raw vocabulary text of id ("▁Once", "<0x0A>", "Ġthe"),
// or "" for an id outside the vocabulary.
func (t *Tokenizer) Piece(id int) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// TokenType returns the Type* of id (TypeUndefined outside the vocabulary).
func (t *Tokenizer) TokenType(id int) int {
	if !t.valid(id) {
		return TypeUndefined
	}
	return int(t.types[id])
}

// TokenBytes returns the bytes id contributes to decoded text, as
// llama.cpp's token_to_piece with special=false: ▁ becomes a space, <0xNN>
// its byte, byte-level BPE text is mapped back to bytes, user-defined
// tokens are their text, and control, unknown and unused tokens (and ids
// outside the vocabulary) contribute nothing.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if !t.valid(id) {
		return nil
	}
	text := t.tokens[id]
	switch t.types[id] {
	case TypeUserDefined:
		return []byte(text)
	case TypeNormal:
		switch {
		case t.byteLevel:
			return byteDecode(text)
		case t.spm || t.metaspace:
			return []byte(strings.ReplaceAll(text, spmSpace, " "))
		default:
			return []byte(text)
		}
	case TypeByte:
		// llama.cpp gives byte-level BPE byte tokens no text.
		if b, ok := parseByteToken(text); ok && !t.byteLevel {
			return []byte{b}
		}
	}
	return nil
}

// parseByteToken parses "<0xNN>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// Decode returns the text of ids, as llama.cpp's detokenize without
// special tokens and without clean-up: the concatenated TokenBytes, minus
// the dummy-prefix space of the first token for vocabularies that add one.
// Invalid UTF-8 is kept as is (see StreamDecoder for a UTF-8-safe stream).
func (t *Tokenizer) Decode(ids []int) string {
	var b []byte
	for i, id := range ids {
		p := t.TokenBytes(id)
		if i == 0 && t.addSpacePrefix && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		b = append(b, p...)
	}
	return string(b)
}

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int { return t.eos }

// PAD returns the padding id, or -1.
func (t *Tokenizer) PAD() int { return t.pad }

// UNK returns the unknown-token id, or -1.
func (t *Tokenizer) UNK() int { return t.unk }

// IsEOG reports whether id ends generation: EOS, or a token llama.cpp
// recognises by its text (<|eot_id|>, <|im_end|>, <|endoftext|>, ...).
func (t *Tokenizer) IsEOG(id int) bool { return t.eog[id] }

// AddBOS reports whether Encode with AddSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// Model returns "llama" for a SentencePiece-style vocabulary (from GGUF,
// or a tokenizer.json with ▁ and byte fallback) or "gpt2" for byte-level
// BPE.
func (t *Tokenizer) Model() string { return t.model }

// Pre returns the pre-tokenizer type of a BPE vocabulary ("" for SPM).
func (t *Tokenizer) Pre() string { return t.preName }

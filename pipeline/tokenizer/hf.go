package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// hfFlavour is what a tokenizer.json says about a BPE model beyond its
// vocabulary: how text is pre-tokenized and mapped to symbols.
type hfFlavour struct {
	pre             *pretokenizer
	preName         string
	ranks           map[mergePair]int
	byteLevel       bool
	byteFallback    bool
	ignoreMerges    bool
	prefix          bool  // SentencePiece-style: prefix text with ▁
	prefixFirstOnly bool  // ... only the first fragment (prepend_scheme "first")
	bytePrefixSpace bool  // byte-level: add_prefix_space
	lstrip, rstrip  []int // added tokens that eat the whitespace before/after them
}

// The parts of tokenizer.json we read.
type hfFile struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
		LStrip  bool   `json:"lstrip"`
		RStrip  bool   `json:"rstrip"`
	} `json:"added_tokens"`
	Normalizer    *hfComponent `json:"normalizer"`
	PreTokenizer  *hfComponent `json:"pre_tokenizer"`
	PostProcessor *hfComponent `json:"post_processor"`
	Decoder       *hfComponent `json:"decoder"`
	Model         struct {
		Type         string            `json:"type"`
		Vocab        map[string]int    `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"`
		UnkToken     *string           `json:"unk_token"`
		ByteFallback bool              `json:"byte_fallback"`
		IgnoreMerges bool              `json:"ignore_merges"`
	} `json:"model"`
}

// hfComponent is any normalizer, pre-tokenizer, post-processor or decoder;
// Sequence types nest.
type hfComponent struct {
	Type          string         `json:"type"`
	Normalizers   []*hfComponent `json:"normalizers"`
	PreTokenizers []*hfComponent `json:"pretokenizers"`
	Decoders      []*hfComponent `json:"decoders"`
	Processors    []*hfComponent `json:"processors"`
	// Prepend / Replace / Metaspace / Split
	Prepend     string          `json:"prepend"`
	Pattern     *hfPattern      `json:"pattern"`
	Content     string          `json:"content"`
	Behavior    string          `json:"behavior"`
	Invert      bool            `json:"invert"`
	Replacement string          `json:"replacement"`
	Scheme      string          `json:"prepend_scheme"`
	Split       *bool           `json:"split"`
	PrefixSpace *bool           `json:"add_prefix_space"`
	UseRegex    *bool           `json:"use_regex"`
	Individual  bool            `json:"individual_digits"`
	Single      []hfTemplateArg `json:"single"`
}

type hfPattern struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type hfTemplateArg struct {
	SpecialToken *struct {
		ID string `json:"id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID string `json:"id"`
	} `json:"Sequence"`
}

// hfConfig is the part of tokenizer_config.json we read.
type hfConfig struct {
	AddBOS *bool           `json:"add_bos_token"`
	AddEOS *bool           `json:"add_eos_token"`
	BOS    json.RawMessage `json:"bos_token"`
	EOS    json.RawMessage `json:"eos_token"`
	UNK    json.RawMessage `json:"unk_token"`
	PAD    json.RawMessage `json:"pad_token"`
}

// tokenText reads a special token given as "text" or {"content": "text"}.
func tokenText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var o struct {
		Content string `json:"content"`
	}
	if json.Unmarshal(raw, &o) == nil && o.Content != "" {
		return o.Content, true
	}
	return "", false
}

// FromHFDir builds the tokenizer of a Hugging Face model directory from
// its tokenizer.json (and tokenizer_config.json when present): a BPE model
// with merges and added tokens, either byte-level (ByteLevel pre-tokenizer,
// optionally after a Split regex, as GPT-2, Llama 3 and Qwen2) or
// SentencePiece-style (Prepend/Replace normalizer or Metaspace
// pre-tokenizer with byte fallback, as Llama 2).
func FromHFDir(dir string) (*Tokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg *hfConfig
	cdata, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	switch {
	case err == nil:
		cfg = &hfConfig{}
		if err := json.Unmarshal(cdata, cfg); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, "tokenizer_config.json"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := fromHF(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// fromHF parses tokenizer.json and an optional tokenizer_config.json.
func fromHF(data []byte, cfg *hfConfig) (*Tokenizer, error) {
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if f.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer model %q is not supported (want BPE)", f.Model.Type)
	}
	// Tokens by id: the model vocabulary, then the added tokens.
	n := 0
	for _, id := range f.Model.Vocab {
		n = max(n, id+1)
	}
	for _, a := range f.AddedTokens {
		n = max(n, a.ID+1)
	}
	const maxVocab = 1 << 24
	if n == 0 {
		return nil, errors.New("empty vocabulary")
	}
	if n > maxVocab {
		return nil, fmt.Errorf("token id %d is implausibly large", n-1)
	}
	// The id table is allocated by the largest id: ids far sparser than
	// any real vocabulary would let a tiny file allocate hundreds of MB.
	if entries := len(f.Model.Vocab) + len(f.AddedTokens); n > 2*entries+1024 {
		return nil, fmt.Errorf("token id %d is implausibly large for a vocabulary of %d tokens", n-1, entries)
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	for s, id := range f.Model.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("token %q has negative id %d", s, id)
		}
		tokens[id] = s
		types[id] = TypeNormal
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 {
			return nil, fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		}
		tokens[a.ID] = a.Content
		types[a.ID] = TypeUserDefined
		if a.Special {
			types[a.ID] = TypeControl
		}
	}
	for i := range types {
		if tokens[i] == "" {
			types[i] = TypeUnused
		}
	}

	fl := &hfFlavour{byteFallback: f.Model.ByteFallback, ignoreMerges: f.Model.IgnoreMerges}
	for _, a := range f.AddedTokens {
		if a.LStrip {
			fl.lstrip = append(fl.lstrip, a.ID)
		}
		if a.RStrip {
			fl.rstrip = append(fl.rstrip, a.ID)
		}
	}
	if err := fl.readPipeline(&f); err != nil {
		return nil, err
	}
	if fl.byteFallback && !fl.byteLevel {
		for i, s := range tokens {
			if _, ok := parseByteToken(s); ok && types[i] == TypeNormal {
				types[i] = TypeByte
			}
		}
	}
	fl.ranks = make(map[mergePair]int, len(f.Model.Merges))
	for i, raw := range f.Model.Merges {
		var p mergePair
		var s string
		var arr []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			j := strings.IndexByte(s, ' ')
			if j <= 0 {
				return nil, fmt.Errorf("merge %d %q is not \"left right\"", i, s)
			}
			p = mergePair{s[:j], s[j+1:]}
		case json.Unmarshal(raw, &arr) == nil && len(arr) == 2:
			p = mergePair{arr[0], arr[1]}
		default:
			return nil, fmt.Errorf("merge %d is neither \"left right\" nor [left, right]", i)
		}
		if _, dup := fl.ranks[p]; !dup {
			fl.ranks[p] = i
		}
	}

	id := func(s string) int {
		for i, t := range tokens {
			if t == s {
				return i
			}
		}
		return -1
	}
	v := Vocab{Model: "gpt2", Tokens: tokens, Types: types, BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	if !fl.byteLevel {
		v.Model = "llama"
		v.AddSpacePrefix = fl.prefix
	}
	if f.Model.UnkToken != nil {
		v.UNK = id(*f.Model.UnkToken)
		if v.UNK >= 0 && types[v.UNK] != TypeControl {
			types[v.UNK] = TypeUnknown
		}
	}
	// BOS/EOS added by the post-processor template ("<s> $A").
	if pp := f.PostProcessor; pp != nil {
		tmpl := pp
		if pp.Type == "Sequence" {
			tmpl = nil
			for _, p := range pp.Processors {
				if p.Type == "TemplateProcessing" {
					tmpl = p
				}
			}
		}
		if tmpl != nil && tmpl.Type == "TemplateProcessing" && len(tmpl.Single) > 0 {
			if st := tmpl.Single[0].SpecialToken; st != nil {
				v.BOS, v.AddBOS = id(st.ID), id(st.ID) >= 0
			}
			if st := tmpl.Single[len(tmpl.Single)-1].SpecialToken; st != nil && len(tmpl.Single) > 1 {
				v.EOS, v.AddEOS = id(st.ID), id(st.ID) >= 0
			}
		}
	}
	if cfg != nil {
		for _, k := range []struct {
			raw json.RawMessage
			dst *int
		}{{cfg.BOS, &v.BOS}, {cfg.EOS, &v.EOS}, {cfg.UNK, &v.UNK}, {cfg.PAD, &v.PAD}} {
			if s, ok := tokenText(k.raw); ok {
				if i := id(s); i >= 0 {
					*k.dst = i
				}
			}
		}
		if cfg.AddBOS != nil {
			v.AddBOS = *cfg.AddBOS
		}
		if cfg.AddEOS != nil {
			v.AddEOS = *cfg.AddEOS
		}
	}
	if v.AddBOS && v.BOS < 0 {
		v.AddBOS = false
	}
	if v.AddEOS && v.EOS < 0 {
		v.AddEOS = false
	}
	return build(v, fl)
}

// readPipeline reads the normalizer and pre-tokenizer into fl.
func (fl *hfFlavour) readPipeline(f *hfFile) error {
	fl.pre = &pretokenizer{}
	var regexes []string
	var walkNorm func(c *hfComponent) error
	prepend, replace := false, false
	walkNorm = func(c *hfComponent) error {
		if c == nil {
			return nil
		}
		switch c.Type {
		case "Sequence":
			for _, s := range c.Normalizers {
				if err := walkNorm(s); err != nil {
					return err
				}
			}
		case "Prepend":
			if c.Prepend != spmSpace {
				return fmt.Errorf("normalizer Prepend(%q) is not supported", c.Prepend)
			}
			prepend = true
		case "Replace":
			if c.Pattern == nil || c.Pattern.String == nil || *c.Pattern.String != " " || c.Content != spmSpace {
				return errors.New("only the Replace(\" \", \"▁\") normalizer is supported")
			}
			replace = true
		case "NFC":
			// Qwen2 declares NFC; llama.cpp does not normalise either.
		default:
			return fmt.Errorf("normalizer %q is not supported", c.Type)
		}
		return nil
	}
	if err := walkNorm(f.Normalizer); err != nil {
		return err
	}
	metaspace := prepend || replace
	var walkPre func(c *hfComponent) error
	walkPre = func(c *hfComponent) error {
		if c == nil {
			return nil
		}
		switch c.Type {
		case "Sequence":
			for _, s := range c.PreTokenizers {
				if err := walkPre(s); err != nil {
					return err
				}
			}
		case "ByteLevel":
			fl.byteLevel = true
			if c.PrefixSpace != nil && *c.PrefixSpace {
				fl.bytePrefixSpace = true
			}
			if c.UseRegex == nil || *c.UseRegex {
				regexes = append(regexes, gpt2Regex)
			}
		case "Split":
			if c.Pattern == nil || c.Pattern.Regex == nil {
				return errors.New("Split pre-tokenizer without a regex")
			}
			if c.Behavior != "Isolated" || c.Invert {
				return fmt.Errorf("Split behavior %q (invert %v) is not supported (want Isolated)", c.Behavior, c.Invert)
			}
			regexes = append(regexes, *c.Pattern.Regex)
		case "Digits":
			if c.Individual {
				regexes = append(regexes, `\p{N}`)
			} else {
				regexes = append(regexes, `\p{N}+`)
			}
		case "Metaspace":
			if c.Replacement != "" && c.Replacement != spmSpace {
				return fmt.Errorf("Metaspace replacement %q is not supported", c.Replacement)
			}
			metaspace = true
			switch c.Scheme {
			case "", "always":
				prepend = c.PrefixSpace == nil || *c.PrefixSpace || c.Scheme == "always"
			case "first":
				prepend, fl.prefixFirstOnly = true, true
			case "never":
				prepend = false
			default:
				return fmt.Errorf("Metaspace prepend_scheme %q is not supported", c.Scheme)
			}
			if c.Split == nil || *c.Split {
				fl.pre.steps = append(fl.pre.steps, metaspaceSplit{})
			}
		default:
			return fmt.Errorf("pre-tokenizer %q is not supported", c.Type)
		}
		return nil
	}
	if err := walkPre(f.PreTokenizer); err != nil {
		return err
	}
	if fl.byteLevel && metaspace {
		return errors.New("tokenizer mixes ByteLevel and Metaspace")
	}
	if !fl.byteLevel && !metaspace {
		return errors.New("tokenizer is neither byte-level (ByteLevel) nor SentencePiece-style (Metaspace, Prepend/Replace ▁)")
	}
	fl.prefix = prepend && !fl.byteLevel
	fl.preName = "hf"
	for _, expr := range regexes {
		step, name, err := hfRegexStep(expr)
		if err != nil {
			return err
		}
		fl.pre.steps = append(fl.pre.steps, step)
		if name != "" {
			fl.preName = name
		}
	}
	return nil
}

// hfRegexStep compiles a Split regex: the patterns llama.cpp knows run
// exactly as llama.cpp runs them, any other through regexp2 on the text.
func hfRegexStep(expr string) (splitStep, string, error) {
	switch expr {
	case gpt2Regex, gpt2RegexHF:
		return gpt2Split{}, "gpt-2", nil
	case llama3Regex, llama3RegexHF:
		return llama3Split{}, "llama3", nil
	case qwen2Regex, qwen2RegexHF:
		st, err := compileRegexStep(qwen2Regex)
		return st, "qwen2", err
	}
	st, err := compileWideRegexStep(expr)
	return st, "", err
}

// metaspaceSplit cuts before every ▁ (Metaspace split, MergedWithNext).
type metaspaceSplit struct{}

func (metaspaceSplit) split(us []unit, _ *runeViews, pieces []int) []int {
	out := make([]int, 0, len(pieces))
	start := 0
	for _, n := range pieces {
		last := start
		for i := start + 1; i < start+n; i++ {
			if us[i].r == '\u2581' {
				out = append(out, i-last)
				last = i
			}
		}
		out = append(out, start+n-last)
		start += n
	}
	return out
}

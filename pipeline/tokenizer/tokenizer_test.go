package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/infertrace/infertrace/internal/refdata"
	"github.com/infertrace/infertrace/loader"
	"pgregory.net/rapid"
)

func openStories(tb testing.TB) *Tokenizer {
	tb.Helper()
	path := refdata.Path(tb, "stories260K", "stories260K.gguf")
	f, err := loader.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	tok, err := FromMetadata(f.Meta)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// referencePrompt reads the prompt and its llama.cpp token ids.
func referencePrompt(tb testing.TB) (string, []int) {
	tb.Helper()
	data, err := os.ReadFile(refdata.Path(tb, "stories260K", "reference", "once-upon-a-time.llamacpp.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ref struct {
		Prompt       string `json:"prompt"`
		AddBOS       bool   `json:"add_bos"`
		PromptTokens []int  `json:"prompt_tokens"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		tb.Fatal(err)
	}
	if !ref.AddBOS {
		tb.Fatal("reference prompt was tokenized without BOS")
	}
	return ref.Prompt, ref.PromptTokens
}

func TestStories260K(t *testing.T) {
	tok := openStories(t)
	prompt, want := referencePrompt(t)
	got, err := tok.Encode(prompt, EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if err != nil {
		t.Fatal(err)
	}
	if !equalIDs(got, want) {
		t.Fatalf("Encode(%q) = %v, llama.cpp %v", prompt, got, want)
	}
	if tok.Model() != "llama" || !tok.AddBOS() || tok.BOS() != 1 || tok.EOS() != 2 || tok.VocabSize() != 512 {
		t.Errorf("model %q addBOS %v BOS %d EOS %d n %d", tok.Model(), tok.AddBOS(), tok.BOS(), tok.EOS(), tok.VocabSize())
	}
	if !tok.IsEOG(2) || tok.IsEOG(403) {
		t.Error("IsEOG: EOS must end generation, a word must not")
	}
	if got := tok.Piece(403); got != "▁Once" {
		t.Errorf("Piece(403) = %q", got)
	}
	if got := tok.Decode(want); got != " "+prompt {
		// llama.cpp keeps the dummy-prefix space when the first token is BOS.
		t.Errorf("Decode(%v) = %q", want, got)
	}
	if got := tok.Decode(want[1:]); got != prompt {
		t.Errorf("Decode(%v) = %q", want[1:], got)
	}
	// "<s>" is parsed as BOS only with ParseSpecial.
	withSpecial, _ := tok.Encode("<s>Once", EncodeOptions{ParseSpecial: true})
	plain, _ := tok.Encode("<s>Once", EncodeOptions{})
	if len(withSpecial) == 0 || withSpecial[0] != 1 {
		t.Errorf("ParseSpecial: %v does not start with BOS", withSpecial)
	}
	for _, id := range plain {
		if id == 1 {
			t.Errorf("without ParseSpecial %v holds BOS", plain)
		}
	}
	if got := tok.Decode(plain); got != "<s>Once" {
		t.Errorf("Decode(%v) = %q", plain, got)
	}
}

// TestTokenBytes checks the text each kind of token contributes.
func TestTokenBytes(t *testing.T) {
	spm := openStories(t)
	gpt2 := loadVocabFile(t, "gpt-2")
	nl := spm.byteTokens['\n']
	tests := []struct {
		name string
		tok  *Tokenizer
		id   int
		want string
	}{
		{"spm word", spm, 403, " Once"},
		{"spm byte", spm, nl, "\n"},
		{"spm control", spm, 1, ""},
		{"spm unknown", spm, 0, ""},
		{"spm out of range", spm, 100000, ""},
		{"bpe word", gpt2, gpt2.tokenID["Ġthe"], " the"},
		{"bpe newline", gpt2, gpt2.tokenID["Ċ"], "\n"},
		{"bpe control", gpt2, gpt2.tokenID["<|endoftext|>"], ""},
		{"bpe negative", gpt2, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.tok.TokenBytes(tt.id)); got != tt.want {
				t.Errorf("TokenBytes(%d) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
	if spm.Piece(nl) != "<0x0A>" {
		t.Errorf("newline piece %q", spm.Piece(nl))
	}
}

// TestRoundTrip: Decode(Encode(x)) == x for any text the vocabulary can
// represent. Vocabularies with byte fallback (SPM) or all 256 byte symbols
// (byte-level BPE) represent every string; the others are given text drawn
// from characters that are tokens on their own.
func TestRoundTrip(t *testing.T) {
	// baichuan (SPM) and gpt-neox (BPE, no pre type: "default") have no
	// vectors upstream but must load and round-trip too.
	for _, name := range append([]string{"stories260K", "baichuan", "gpt-neox"}, vocabNames...) {
		t.Run(name, func(t *testing.T) {
			var tok *Tokenizer
			if name == "stories260K" {
				tok = openStories(t)
			} else {
				tok = loadVocabFile(t, name)
			}
			gen := rapid.String()
			if !tok.representsAllBytes() {
				chars := tok.singleCharTokens()
				if len(chars) < 1000 {
					t.Fatalf("only %d representable characters", len(chars))
				}
				gen = rapid.StringOf(rapid.SampledFrom(chars))
			}
			rapid.Check(t, func(rt *rapid.T) {
				s := gen.Draw(rt, "text")
				ids, err := tok.Encode(s, EncodeOptions{})
				if err != nil {
					rt.Fatal(err)
				}
				if got := tok.Decode(ids); got != s {
					rt.Fatalf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
				}
			})
		})
	}
}

// representsAllBytes reports whether every byte has a token that decodes
// to it (deepseek-llm's added tokens "ÿ", "þ" shadow the byte symbols, as
// they do in llama.cpp).
func (t *Tokenizer) representsAllBytes() bool {
	for b := 0; b < 256; b++ {
		if !t.representsByte(byte(b)) {
			return false
		}
	}
	return true
}

func (t *Tokenizer) representsByte(b byte) bool {
	if !t.byteLevel {
		return t.byteTokens[b] >= 0
	}
	id, ok := t.tokenID[byteEncode(string([]byte{b}))]
	return ok && t.types[id] == TypeNormal
}

// singleCharTokens lists the characters below U+3000 whose every byte
// has a token, so that any string of them can be represented.
func (t *Tokenizer) singleCharTokens() []rune {
	var rs []rune
	for r := rune(1); r < 0x3000; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		ok := true
		for _, b := range []byte(string(r)) {
			if ok = t.representsByte(b); !ok {
				break
			}
		}
		if ok {
			rs = append(rs, r)
		}
	}
	return rs
}

func TestStreamDecoder(t *testing.T) {
	spm := openStories(t)
	gpt2 := loadVocabFile(t, "gpt-2")
	for _, tc := range []struct {
		name string
		tok  *Tokenizer
		text string
	}{
		{"spm emoji over byte tokens", spm, "Once 🦙 upon a ☕ time, 日本"},
		{"bpe emoji over byte tokens", gpt2, "Hello 🦙🦙 wörld 日本語"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := tc.tok.Encode(tc.text, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			d := tc.tok.NewStreamDecoder()
			var all strings.Builder
			held := false
			for _, id := range ids {
				piece := d.Add(id)
				if !utf8.ValidString(piece) {
					t.Fatalf("Add(%d) = %q is not valid UTF-8", id, piece)
				}
				if piece == "" && len(tc.tok.TokenBytes(id)) > 0 {
					held = true
				}
				all.WriteString(piece)
			}
			all.WriteString(d.Flush())
			if !held {
				t.Errorf("no token was held back: the text never splits a character (ids %v)", ids)
			}
			want := tc.text
			if tc.tok.addSpacePrefix {
				want = " " + want
			}
			if all.String() != want {
				t.Errorf("stream = %q, want %q", all.String(), want)
			}
		})
	}
	t.Run("flush incomplete", func(t *testing.T) {
		d := spm.NewStreamDecoder()
		// the first two bytes of 🦙 (F0 9F A6 99)
		if got := d.Add(spm.byteTokens[0xF0]) + d.Add(spm.byteTokens[0x9F]); got != "" {
			t.Fatalf("incomplete character emitted %q", got)
		}
		if got := d.Flush(); got != "\uFFFD" {
			t.Errorf("Flush = %q, want one U+FFFD (one maximal ill-formed subpart)", got)
		}
		if got := d.Add(spm.byteTokens[0x80]); got != "\uFFFD" {
			t.Errorf("stray continuation byte = %q, want U+FFFD", got)
		}
	})
}

func TestUnknownPreType(t *testing.T) {
	_, err := New(Vocab{Model: "gpt2", Pre: "nope", Tokens: []string{"a"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "qwen2") {
		t.Fatalf("err = %v, want one naming the type and listing the known ones", err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Vocab
	}{
		{"empty", Vocab{Model: "llama", BOS: -1, EOS: -1, UNK: -1, PAD: -1}},
		{"model", Vocab{Model: "bert", Tokens: []string{"a"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1}},
		{"scores", Vocab{Model: "llama", Tokens: []string{"a"}, Scores: []float32{1, 2}, BOS: -1, EOS: -1, UNK: -1, PAD: -1}},
		{"bos range", Vocab{Model: "llama", Tokens: []string{"a"}, BOS: 5, EOS: -1, UNK: -1, PAD: -1}},
		{"add bos without bos", Vocab{Model: "llama", Tokens: []string{"a"}, AddBOS: true, BOS: -1, EOS: -1, UNK: -1, PAD: -1}},
		{"merge", Vocab{Model: "gpt2", Tokens: []string{"a"}, Merges: []string{"ab"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.v); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

// writeHFTokenizer writes tokenizer.json for a byte-level BPE built from
// the vocabulary and merges of a GGUF file, with the given pre-tokenizer.
func writeHFTokenizer(t *testing.T, name string, preTokenizer any) string {
	t.Helper()
	path := refdata.Path(t, "vocab", "ggml-vocab-"+name+".gguf")
	f, err := loader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := VocabFromMetadata(f.Meta)
	if err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{}
	var added []map[string]any
	for i, s := range v.Tokens {
		if v.Types[i] == TypeControl || v.Types[i] == TypeUserDefined {
			added = append(added, map[string]any{"id": i, "content": s, "special": v.Types[i] == TypeControl})
			continue
		}
		vocab[s] = i
	}
	merges := make([][]string, len(v.Merges))
	for i, m := range v.Merges {
		l, r, _ := strings.Cut(m, " ")
		merges[i] = []string{l, r}
	}
	doc := map[string]any{
		"version":        "1.0",
		"added_tokens":   added,
		"normalizer":     nil,
		"pre_tokenizer":  preTokenizer,
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true},
		"decoder":        map[string]any{"type": "ByteLevel"},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": merges, "unk_token": nil,
			"byte_fallback": false, "ignore_merges": false},
	}
	dir := t.TempDir()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := `{"add_bos_token": false, "bos_token": "<|endoftext|>", "eos_token": {"content": "<|endoftext|>"}}`
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFromHFDirByteLevel rebuilds GPT-2 as a tokenizer.json three ways and
// holds each to llama.cpp's GPT-2 vectors: the ByteLevel pre-tokenizer's
// own regex, the same regex as a Split (exact llama.cpp path), and a
// rewritten but equivalent regex (the generic regexp2 path).
func TestFromHFDirByteLevel(t *testing.T) {
	byteLevel := func(useRegex bool) map[string]any {
		return map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": useRegex}
	}
	split := func(re string) map[string]any {
		return map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": re}, "behavior": "Isolated", "invert": false},
			byteLevel(false),
		}}
	}
	cases := readVocabCases(t, "gpt-2")
	for _, tc := range []struct {
		name string
		pre  any
	}{
		{"ByteLevel", byteLevel(true)},
		{"Split gpt2", split(gpt2RegexHF)},
		{"Split generic", split(`(?:'s|'t|'re|'ve|'m|'ll|'d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := FromHFDir(writeHFTokenizer(t, "gpt-2", tc.pre))
			if err != nil {
				t.Fatal(err)
			}
			if tok.Model() != "gpt2" || tok.AddBOS() || tok.BOS() != 50256 || tok.EOS() != 50256 {
				t.Errorf("model %q addBOS %v BOS %d EOS %d", tok.Model(), tok.AddBOS(), tok.BOS(), tok.EOS())
			}
			for i, c := range cases {
				got, err := tok.Encode(c.text, EncodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if !equalIDs(got, c.ids) {
					t.Errorf("case %d %q:\n got %v\nwant %v", i, c.text, got, c.ids)
				}
				if dec := tok.Decode(got); dec != c.text {
					t.Errorf("case %d: Decode = %q", i, dec)
				}
			}
		})
	}
}

func TestFromHFDirErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"not json", `{`, "tokenizer.json"},
		{"unigram", `{"model": {"type": "Unigram"}}`, "Unigram"},
		{"empty", `{"model": {"type": "BPE", "vocab": {}, "merges": []}}`, "empty vocabulary"},
		{"no pre", `{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "neither byte-level"},
		{"bad merge", `{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": [3]}}`, "merge 0"},
		{"bad split", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}`, "regex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := FromHFDir(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want one naming %s and %q", err, dir, tc.want)
			}
		})
	}
	if _, err := FromHFDir(t.TempDir()); err == nil {
		t.Error("FromHFDir on a directory without tokenizer.json succeeded")
	}
}

// TestConcurrentEncode: a Tokenizer is shared by goroutines (run with -race).
func TestConcurrentEncode(t *testing.T) {
	for _, name := range []string{"deepseek-coder", "gpt-2"} {
		tok := loadVocabFile(t, name)
		cases := readVocabCases(t, name)
		done := make(chan error, 4)
		for g := 0; g < 4; g++ {
			go func() {
				for i, c := range cases {
					got, err := tok.Encode(c.text, EncodeOptions{})
					if err == nil && !equalIDs(got, c.ids) {
						err = fmt.Errorf("%s case %d: got %v want %v", name, i, got, c.ids)
					}
					if err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for g := 0; g < 4; g++ {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}

// TestDecodeGreedyReference decodes llama.cpp's greedy continuations of
// stories260K and compares with the text llama.cpp printed for them.
func TestDecodeGreedyReference(t *testing.T) {
	tok := openStories(t)
	for _, file := range []string{"once-upon-a-time.llamacpp.json", "once-upon-a-time.q8_0.llamacpp.json", "once-upon-a-time.q4_0.llamacpp.json"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(refdata.Path(t, "stories260K", "reference", file))
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				GreedyTokens []int  `json:"greedy_tokens"`
				GreedyText   string `json:"greedy_text"`
			}
			if err := json.Unmarshal(data, &ref); err != nil {
				t.Fatal(err)
			}
			if len(ref.GreedyTokens) == 0 {
				t.Fatal("no greedy tokens")
			}
			d := tok.NewStreamDecoder()
			var s strings.Builder
			for _, id := range ref.GreedyTokens {
				s.WriteString(d.Add(id))
			}
			s.WriteString(d.Flush())
			if s.String() != ref.GreedyText {
				t.Errorf("stream decode = %q\nllama.cpp      = %q", s.String(), ref.GreedyText)
			}
		})
	}
}

// TestPhi3StripsAfterSpecial: llama.cpp marks Phi-3's special tokens (by
// general.name) to swallow the whitespace after them, and "</s>" is a
// user-defined token there, matched even without ParseSpecial.
func TestPhi3StripsAfterSpecial(t *testing.T) {
	tok := loadVocabFile(t, "phi-3")
	enc := func(s string, parse bool) []int {
		ids, err := tok.Encode(s, EncodeOptions{ParseSpecial: parse})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	user, end, eos := tok.tokenID["<|user|>"], tok.tokenID["<|end|>"], tok.tokenID["</s>"]
	var want []int
	want = append(want, user)
	want = append(want, enc("Hi", false)...)
	want = append(want, end)
	want = append(want, enc("ok", false)...)
	if got := enc("<|user|>\n  Hi<|end|>\nok", true); !equalIDs(got, want) {
		t.Errorf("with ParseSpecial: got %v, want %v", got, want)
	}
	want = append(append(enc("a", false), eos), enc("b", false)...)
	if got := enc("a</s> \n b", false); !equalIDs(got, want) {
		t.Errorf("user-defined </s>: got %v, want %v", got, want)
	}
	// Without the name, the newline after <|user|> stays.
	f, err := loader.Open(refdata.Path(t, "vocab", "ggml-vocab-phi-3.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := VocabFromMetadata(f.Meta)
	if err != nil {
		t.Fatal(err)
	}
	v.Name = ""
	plain, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := plain.Encode("<|user|>\nHi", EncodeOptions{ParseSpecial: true})
	want = append([]int{user}, enc("\nHi", false)...)
	if !equalIDs(got, want) {
		t.Errorf("unnamed phi-3: got %v, want %v", got, want)
	}
}

// TestBPEMergeOrder checks rank-ordered merging and llama3's
// ignore_merges on a hand-made vocabulary: "abc" is a token, but the
// merges only build "bc" (rank 0) and "ab" (rank 1), so plain BPE ends at
// a + bc while ignore_merges takes the whole word.
func TestBPEMergeOrder(t *testing.T) {
	tokens := []string{"a", "b", "c", "ab", "bc", "abc", "Ġ"}
	for _, tc := range []struct {
		pre  string
		want []int
	}{
		{"gpt-2", []int{0, 4}},
		{"llama3", []int{5}},
	} {
		t.Run(tc.pre, func(t *testing.T) {
			tok, err := New(Vocab{Model: "gpt2", Pre: tc.pre, Tokens: tokens, Merges: []string{"b c", "a b"}, BOS: -1, EOS: -1, UNK: -1, PAD: -1})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tok.Encode("abc", EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(got, tc.want) {
				t.Errorf("Encode(abc) = %v, want %v", got, tc.want)
			}
			// "ab" merges by rank 1 once nothing better is left; a byte with
			// no token ('d') is dropped, as in llama.cpp.
			if got, _ := tok.Encode("abd", EncodeOptions{}); !equalIDs(got, []int{3}) {
				t.Errorf("Encode(abd) = %v, want [3]", got)
			}
		})
	}
}

// TestFromHFDirAddedTokenStrip: an added token with rstrip swallows the
// whitespace after it, one without keeps it.
func TestFromHFDirAddedTokenStrip(t *testing.T) {
	for _, tc := range []struct {
		rstrip bool
		want   []int
	}{{true, []int{3, 0}}, {false, []int{3, 2, 2, 0}}} {
		doc := fmt.Sprintf(`{"added_tokens": [{"id": 3, "content": "<x>", "special": true, "rstrip": %v}],
			"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
			"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "Ġ": 2, "<x>": 3}, "merges": []}}`, tc.rstrip)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := FromHFDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tok.Encode("<x>  a", EncodeOptions{ParseSpecial: true})
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(got, tc.want) {
			t.Errorf("rstrip %v: got %v, want %v", tc.rstrip, got, tc.want)
		}
	}
}

// TestSanitizeMaximalSubparts: one U+FFFD per maximal ill-formed subpart
// (Unicode §3.9, table 3-8's examples; Python's bytes.decode("utf-8",
// "replace") gives the same, and so do llama.cpp's reference greedy_text
// files).
func TestSanitizeMaximalSubparts(t *testing.T) {
	const r = "\uFFFD"
	for _, tc := range []struct{ in, want string }{
		{"\xF0\x9F", r},                            // truncated 4-byte character
		{"\x88\xE7\x8Cil", r + r + "il"},           // stray continuation, then truncated 3-byte
		{"\x80", r},                                // lone continuation
		{"\xF0\x80\x80", r + r + r},                // F0 cannot be followed by 80
		{"\xED\xA0\x80", r + r + r},                // surrogate
		{"\xC0\xAF", r + r},                        // overlong lead
		{"\xF4\x90\x80\x80", r + r + r + r},        // above U+10FFFF
		{"\xE0\x80", r + r},                        // E0 needs A0-BF
		{"a\xE2\x82b\xE2\x82\xAC", "a" + r + "b€"}, // truncated then complete
		{"\xF1\x80\x80\xE1\x80\xC2", r + r + r},    // table 3-8 style run
		{"ok \uFFFD", "ok \uFFFD"},                 // an encoded U+FFFD is valid text
	} {
		if got := sanitize([]byte(tc.in)); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	spm := openStories(t)
	d := spm.NewStreamDecoder()
	var got string
	for _, b := range []byte{0x88, 0xE7, 0x8C} {
		got += d.Add(spm.byteTokens[b])
	}
	ids, err := spm.Encode("il", EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := r + r
	for _, id := range ids {
		got += d.Add(id)
		want += string(spm.TokenBytes(id))
	}
	if got += d.Flush(); got != want {
		t.Errorf("stream of 88 E7 8C then %v = %q, want %q", ids, got, want)
	}
}

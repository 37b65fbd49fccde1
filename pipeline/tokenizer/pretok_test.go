package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPreTokenizerAgreesWithRegex holds llama.cpp's hand-written splitters
// (gpt-2, llama3) and its collapsed-text regex path (qwen2) to the
// tokenizer.json regexes run by a real regex engine over real Unicode,
// on every test-vector input plus some extra cases.
func TestPreTokenizerAgreesWithRegex(t *testing.T) {
	texts := []string{
		"it's I'LL we'Re 'S", "a  b   c\n\n d\r\n\re", "12345678 ½ ²³ ٣٤٥", "\u00a0x\u3000y\u2028",
		"naïve café ﬁ Ωmega", "привет мир", "中文字符 日本語 한국어", "🦙🚀 !!! ...?", "tab\tend ", "   ",
	}
	for _, c := range readVocabCases(t, "gpt-2") {
		texts = append(texts, c.text)
	}
	for _, tc := range []struct {
		name string
		ours []string // llama.cpp's regexes (custom or collapsed)
		ref  string   // the tokenizer.json pattern
	}{
		{"gpt-2", []string{gpt2Regex}, `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`},
		{"llama3", []string{llama3Regex}, `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|(?:\s+)`},
		{"qwen2", []string{qwen2Regex}, qwen2RegexHF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, err := compilePre(tc.ours)
			if err != nil {
				t.Fatal(err)
			}
			st, err := compileWideRegexStep(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			ref := &pretokenizer{steps: []splitStep{st}}
			for _, s := range texts {
				if got, want := mustSplit(t, ours, s), mustSplit(t, ref, s); !slices.Equal(got, want) {
					t.Errorf("%q:\n got %q\nwant %q", s, got, want)
				}
			}
		})
	}
}

func TestCollapseRegex(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`\p{N}+`, `[\u00D10-9]+`},
		{`[^\s\p{L}\p{N}]`, `[^\s\u00D2A-Za-z\u00D10-9]`},
		{`\s?\p{P}+`, `\s?[\u00D3!-#%-*,-/:-;?-@\[-\]_\{\}]+`},
		{`\p{M}`, `\p{M}`},
	} {
		if got := collapseRegex(tc.in); got != tc.want {
			t.Errorf("collapseRegex(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestTrailingSpaceSplit holds the hand-written \s+$ to the regex.
func TestTrailingSpaceSplit(t *testing.T) {
	st, err := compileWideRegexStep(trailingSpaceRegex)
	if err != nil {
		t.Fatal(err)
	}
	ref := &pretokenizer{steps: []splitStep{st}}
	ours := &pretokenizer{steps: []splitStep{trailingSpaceSplit{}}}
	for _, s := range []string{"", " ", "a", "a ", " a", "a \t\n", "a\u3000\u00a0", "\u3000", "x\x1c", "a b  c   ", "🦙  "} {
		if got, want := mustSplit(t, ours, s), mustSplit(t, ref, s); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", s, got, want)
		}
	}
}

// TestPreTokenizersStayFast runs every pre-tokenizer over long adversarial
// runs (whitespace before a non-space, one class repeated): a backtracking
// regex that went quadratic would take seconds here, not milliseconds.
func TestPreTokenizersStayFast(t *testing.T) {
	if raceEnabled {
		t.Skip("timing test: the race detector slows everything down")
	}
	inputs := []string{
		strings.Repeat(" ", 20000) + "🦙", strings.Repeat(" ", 20000) + "a", strings.Repeat("a", 20000),
		strings.Repeat("1", 20000), strings.Repeat("!", 20000), strings.Repeat("\n", 20000),
		strings.Repeat(" \n", 10000), strings.Repeat("\t ", 10000) + "x", strings.Repeat("中", 20000),
	}
	seen := map[string]bool{}
	for _, name := range KnownPreTypes() {
		key := strings.Join(preTypes[name].regexes, "\x00")
		if seen[key] { // an alias
			continue
		}
		seen[key] = true
		p, err := compilePre(preTypes[name].regexes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, s := range inputs {
			start := time.Now()
			words := mustSplit(t, p, s)
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("%s: input %d took %v", name, i, el)
			}
			if got := strings.Join(words, ""); got != s {
				t.Fatalf("%s: input %d: pieces do not add up to the text", name, i)
			}
		}
	}
}

// TestIssuePreTokenizersKnown: every tokenizer.ggml.pre value issue 3 lists
// is known and compiles, and llama-bpe is llama3's.
func TestIssuePreTokenizersKnown(t *testing.T) {
	for _, name := range []string{"default", "llama3", "llama-bpe", "gpt-2", "qwen2", "deepseek-llm", "deepseek-coder",
		"falcon", "mpt", "starcoder", "refact", "smollm"} {
		spec, ok := preTypes[name]
		if !ok {
			t.Errorf("pre-tokenizer %q is not known", name)
			continue
		}
		if _, err := compilePre(spec.regexes); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !slices.Equal(preTypes["llama-bpe"].regexes, []string{llama3Regex}) || !preTypes["llama-bpe"].ignoreMerges {
		t.Errorf("llama-bpe is not llama3's pre-tokenizer: %+v", preTypes["llama-bpe"])
	}
}

// mustSplit is p.split, failing the test on an error (a regex timeout).
func mustSplit(t *testing.T, p *pretokenizer, s string) []string {
	t.Helper()
	words, err := p.split(s)
	if err != nil {
		t.Fatal(err)
	}
	return words
}

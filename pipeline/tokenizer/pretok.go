package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/dlclark/regexp2"
)

// The two regexes llama.cpp runs through hand-written splitters instead of
// a regex engine (unicode.cpp, unicode_regex_split_custom).
const (
	gpt2Regex   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	llama3Regex = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// llama3RegexHF is the same pattern as written in tokenizer.json files.
	llama3RegexHF = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2Regex    = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	qwen2RegexHF  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// gpt2RegexHF is GPT-2's pattern as tokenizers writes it (with the
	// trailing \s+ that llama.cpp's custom splitter implies).
	gpt2RegexHF = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// preSpec is one pre-tokenizer of llama.cpp's LLAMA_VOCAB_PRE_TYPE switch
// (llama-vocab.cpp, llm_tokenizer_bpe): the regexes applied in sequence,
// each refining the pieces of the previous one, and the flags it sets.
type preSpec struct {
	regexes      []string
	ignoreMerges bool // a whole word that is a token is not merged (llama3)
	addBOS       bool // llama.cpp's default for tokenizer.ggml.add_bos_token
}

var (
	preDefault = preSpec{regexes: []string{
		`[\p{P}\$\+<=>\^~\|]+`,
		gpt2Regex,
		`\p{N}+`,
		`[0-9][0-9][0-9]`,
	}}
	preLlama3      = preSpec{regexes: []string{llama3Regex}, ignoreMerges: true, addBOS: true}
	preDeepseekLLM = preSpec{regexes: []string{
		`[\r\n]`,
		// Six code points of this class are written as escapes: they are
		// canonical singletons that Unicode normalisation of the source
		// would silently replace.
		`\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1F7Dᾀ-ᾴᾶ-ᾼ\u1FBEῂ-ῄῆ-ῌῐ-\u1FD3ῖ-\u1FDBῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212A-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+`,
		`\s?[!-/:-~！-／：-～‘-‟　-。]+`,
		trailingSpaceRegex,
		`[一-龥ࠀ-一가-퟿]+`,
		`\p{N}+`,
	}}
	preDeepseekCoder = preSpec{regexes: []string{
		`[\r\n]`,
		`\s?\p{L}+`,
		`\s?\p{P}+`,
		`[一-龥ࠀ-一가-퟿]+`,
		`\p{N}`,
	}}
	preFalcon = preSpec{regexes: []string{
		`[\p{P}\$\+<=>\^~\|` + "`" + `]+`,
		gpt2Regex,
		`[0-9][0-9][0-9]`,
	}}
	preStarcoder = preSpec{regexes: []string{`\p{N}`, gpt2Regex}}
	preGPT2      = preSpec{regexes: []string{gpt2Regex}}
	preQwen2     = preSpec{regexes: []string{qwen2Regex}}
	preBloom     = preSpec{regexes: []string{` ?[^(\s|.,!?…。，、।۔،)]+`}}
	preChatGLM4  = preSpec{regexes: []string{llama3Regex}}
	preViking    = preSpec{regexes: []string{` ?[^(\s|.,!?…。，、।۔،)]+`, `\p{N}`}}
	preTekken    = preSpec{regexes: []string{
		`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
	}, ignoreMerges: true, addBOS: true}
	preChameleon = preSpec{regexes: []string{
		`<sentinel:[0-9]+>`,
		`(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z`,
		`([\t\n]|    |  )`,
		`\p{N}`,
		`[\p{P}!-/:-@\[-` + "`" + `{-~]`,
		gpt2Regex,
	}, addBOS: true}
)

// preTypes maps tokenizer.ggml.pre values to their pre-tokenizer, with the
// aliases llama.cpp accepts (llama_vocab::impl::load).
var preTypes = map[string]preSpec{
	"default":        preDefault,
	"llama3":         preLlama3,
	"llama-v3":       preLlama3,
	"llama-bpe":      preLlama3,
	"falcon3":        preLlama3,
	"dbrx":           {regexes: []string{llama3Regex}},
	"smaug-bpe":      {regexes: []string{llama3Regex}},
	"deepseek-llm":   preDeepseekLLM,
	"deepseek-coder": preDeepseekCoder,
	"falcon":         preFalcon,
	"mpt":            preGPT2,
	"olmo":           preGPT2,
	"jais":           preGPT2,
	"gpt-2":          preGPT2,
	"phi-2":          preGPT2,
	"jina-es":        preGPT2,
	"jina-de":        preGPT2,
	"gigachat":       preGPT2,
	"jina-v1-en":     preGPT2,
	"jina-v2-es":     preGPT2,
	"jina-v2-de":     preGPT2,
	"jina-v2-code":   preGPT2,
	"roberta-bpe":    preGPT2,
	"starcoder":      preStarcoder,
	"refact":         preStarcoder,
	"command-r":      preStarcoder,
	"smollm":         preStarcoder,
	"codeshell":      preStarcoder,
	"exaone":         preStarcoder,
	"minerva-7b":     preStarcoder,
	"qwen2":          preQwen2,
	"stablelm2":      preQwen2,
	"megrez":         preQwen2,
	"poro-chat":      preBloom,
	"bloom":          preBloom,
	"gpt3-finnish":   preBloom,
	"chatglm-bpe":    preChatGLM4,
	"viking":         preViking,
	"tekken":         preTekken,
	"chameleon":      preChameleon,
}

// KnownPreTypes lists the tokenizer.ggml.pre values this package supports.
func KnownPreTypes() []string {
	out := make([]string, 0, len(preTypes))
	for k := range preTypes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// trailingSpaceRegex is llama.cpp's `\s+$` (deepseek-llm), in regexp2
// syntax (ECMAScript's $ is .NET's \z). It runs as trailingSpaceSplit: a
// backtracking engine takes quadratic time on a long run of spaces that
// is not at the end.
const trailingSpaceRegex = `\s+\z`

// trailingSpaceSplit cuts off the whitespace at the end of each piece,
// which is the one match of \s+$ (with \s as std::wregex sees it: ASCII
// whitespace, and the non-ASCII whitespace llama.cpp maps to \v).
type trailingSpaceSplit struct{}

func (trailingSpaceSplit) split(us []unit, _ *runeViews, pieces []int) []int {
	out := make([]int, 0, len(pieces))
	start := 0
	for _, n := range pieces {
		i := start + n
		for i > start && isRegexSpace(us[i-1].r) {
			i--
		}
		if i > start {
			out = append(out, i-start)
		}
		if i < start+n {
			out = append(out, start+n-i)
		}
		start += n
	}
	return out
}

func isRegexSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ':
		return true
	}
	return r > 0x7F && classify(r).space
}

// splitStep refines a list of piece lengths (in units) into finer pieces.
type splitStep interface {
	split(us []unit, runes *runeViews, pieces []int) []int
}

// pretokenizer is a compiled preSpec.
type pretokenizer struct {
	steps []splitStep
}

func compilePre(regexes []string) (*pretokenizer, error) {
	p := &pretokenizer{}
	for _, expr := range regexes {
		switch expr {
		case gpt2Regex, gpt2RegexHF:
			p.steps = append(p.steps, gpt2Split{})
			continue
		case llama3Regex, llama3RegexHF:
			p.steps = append(p.steps, llama3Split{})
			continue
		case trailingSpaceRegex:
			p.steps = append(p.steps, trailingSpaceSplit{})
			continue
		}
		st, err := compileRegexStep(expr)
		if err != nil {
			return nil, err
		}
		p.steps = append(p.steps, st)
	}
	return p, nil
}

// runeViews lazily builds the two rune renderings of the text that
// llama.cpp's regex fallback uses.
type runeViews struct {
	us        []unit
	collapsed []rune
	wide      []rune
	err       error // the first regex failure (a match timeout)
}

// Placeholders of the collapsed text (unicode.cpp, unicode_regex_split):
// every non-ASCII code point becomes one of these, so that a byte regex
// with ASCII classes can stand in for \p{N}, \p{L} and \p{P}.
const (
	collapsedOther  = 0xD0
	collapsedNumber = 0xD1
	collapsedLetter = 0xD2
	collapsedPunct  = 0xD3
	collapsedSpace  = 0x0B
)

func (v *runeViews) getCollapsed() []rune {
	if v.collapsed == nil {
		v.collapsed = make([]rune, len(v.us))
		for i, u := range v.us {
			if u.r >= 0 && u.r < 128 {
				v.collapsed[i] = u.r
				continue
			}
			f := classify(u.r)
			switch {
			case f.space:
				v.collapsed[i] = collapsedSpace
			case f.cat == catNumber:
				v.collapsed[i] = collapsedNumber
			case f.cat == catLetter:
				v.collapsed[i] = collapsedLetter
			case f.cat == catPunct:
				v.collapsed[i] = collapsedPunct
			default:
				v.collapsed[i] = collapsedOther
			}
		}
	}
	return v.collapsed
}

func (v *runeViews) getWide() []rune {
	if v.wide == nil {
		v.wide = make([]rune, len(v.us))
		for i, u := range v.us {
			switch {
			case u.r < 0:
				v.wide[i] = unicode.ReplacementChar
			case u.r > 0x7F && classify(u.r).space:
				v.wide[i] = collapsedSpace
			default:
				v.wide[i] = u.r
			}
		}
	}
	return v.wide
}

// regexStep is llama.cpp's std::regex fallback: matches and the gaps
// between them both become pieces.
type regexStep struct {
	re        *regexp2.Regexp
	collapsed bool
}

// The ASCII members of each category in the collapsed regex (k_ucat_map).
var collapsedClass = map[byte]string{
	'N': `\u00D10-9`,
	'L': `\u00D2A-Za-z`,
	'P': `\u00D3!-#%-*,-/:-;?-@\[-\]_\{\}`,
}

// compileWideRegexStep compiles a regex that runs on the text itself, with
// regexp2's own Unicode classes (for tokenizer.json patterns llama.cpp
// does not know).
func compileWideRegexStep(expr string) (*regexStep, error) {
	re, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("pre-tokenizer regex %q: %w", expr, err)
	}
	// regexp2 backtracks: a hostile pattern from a tokenizer.json, such as
	// (.*.*)*X, would take exponential time on any text.
	re.MatchTimeout = wideRegexTimeout
	return &regexStep{re: re}, nil
}

// wideRegexTimeout bounds one match of a tokenizer.json regex; real
// pre-tokenizer patterns match in microseconds.
const wideRegexTimeout = time.Second

func compileRegexStep(expr string) (*regexStep, error) {
	collapsed := strings.Contains(expr, `\p{N}`) || strings.Contains(expr, `\p{L}`) || strings.Contains(expr, `\p{P}`)
	pattern := expr
	if collapsed {
		for _, r := range expr {
			if r >= 128 {
				return nil, fmt.Errorf("regex %q mixes unicode categories and non-ASCII characters", expr)
			}
		}
		pattern = collapseRegex(expr)
	}
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("pre-tokenizer regex %q: %w", expr, err)
	}
	return &regexStep{re: re, collapsed: collapsed}, nil
}

// collapseRegex rewrites \p{N}, \p{L} and \p{P} as classes over the
// collapsed text, as unicode_regex_split does.
func collapseRegex(expr string) string {
	var b strings.Builder
	inside := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c == '[' && (i == 0 || expr[i-1] != '\\') {
			b.WriteByte('[')
			inside = true
			continue
		}
		if inside && c == ']' && expr[i-1] != '\\' {
			b.WriteByte(']')
			inside = false
			continue
		}
		if c == '\\' && i+4 < len(expr) && expr[i+1] == 'p' && expr[i+2] == '{' && expr[i+4] == '}' {
			if cls, ok := collapsedClass[expr[i+3]]; ok {
				if !inside {
					b.WriteByte('[')
				}
				b.WriteString(cls)
				if !inside {
					b.WriteByte(']')
				}
				i += 4
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

func (s *regexStep) split(us []unit, v *runeViews, pieces []int) []int {
	var text []rune
	if s.collapsed {
		text = v.getCollapsed()
	} else {
		text = v.getWide()
	}
	out := make([]int, 0, len(pieces))
	start := 0
	for _, n := range pieces {
		if v.err != nil { // a timed-out regex: the split is abandoned
			break
		}
		seg := text[start : start+n]
		last := 0
		m, err := s.re.FindRunesMatch(seg)
		for err == nil && m != nil {
			if m.Index > last {
				out = append(out, m.Index-last)
			}
			if m.Length > 0 {
				out = append(out, m.Length)
			}
			last = m.Index + m.Length
			m, err = s.re.FindNextMatch(m)
		}
		if err != nil && v.err == nil {
			// regexp2's message quotes the whole input; name the pattern only.
			v.err = fmt.Errorf("pre-tokenizer regex %q took more than %v for one match (it backtracks too much)", s.re.String(), s.re.MatchTimeout)
		}
		if last < n {
			out = append(out, n-last)
		}
		start += n
	}
	return out
}

// pieceCursor gives bounded access to one piece, as the lambdas _get_cpt
// and _get_flags of llama.cpp's custom splitters.
type pieceCursor struct {
	us       []unit
	fl       []flags
	ini, end int
	prevEnd  int
	out      *[]int
}

const outOfRange rune = -2

func (c *pieceCursor) cpt(pos int) rune {
	if pos >= c.ini && pos < c.end {
		return c.us[pos].r
	}
	return outOfRange
}

func (c *pieceCursor) flags(pos int) flags {
	if pos >= c.ini && pos < c.end {
		return c.fl[pos]
	}
	return flags{}
}

func (c *pieceCursor) add(end int) int {
	n := end - c.prevEnd
	if n > 0 {
		*c.out = append(*c.out, n)
	}
	c.prevEnd = end
	return n
}

func unitFlags(us []unit) []flags {
	fl := make([]flags, len(us))
	for i, u := range us {
		fl[i] = classify(u.r)
	}
	return fl
}

// gpt2Split is unicode_regex_split_custom_gpt2:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
type gpt2Split struct{}

func (gpt2Split) split(us []unit, _ *runeViews, pieces []int) []int {
	fl := unitFlags(us)
	out := make([]int, 0, len(pieces))
	start := 0
	for _, n := range pieces {
		c := &pieceCursor{us: us, fl: fl, ini: start, end: start + n, prevEnd: start, out: &out}
		start += n
		for pos := c.ini; pos < c.end; {
			cpt := c.cpt(pos)
			f := c.flags(pos)
			if cpt == '\'' && pos+1 < c.end {
				next := c.cpt(pos + 1)
				if next == 's' || next == 't' || next == 'm' || next == 'd' {
					pos += c.add(pos + 2)
					continue
				}
				if pos+2 < c.end {
					nn := c.cpt(pos + 2)
					if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
						pos += c.add(pos + 3)
						continue
					}
				}
			}
			f2 := f
			if cpt == ' ' {
				f2 = c.flags(pos + 1)
			}
			if f2.letter() {
				if cpt == ' ' {
					pos++
				}
				for f2.letter() {
					pos++
					f2 = c.flags(pos)
				}
				c.add(pos)
				continue
			}
			if f2.number() {
				if cpt == ' ' {
					pos++
				}
				for f2.number() {
					pos++
					f2 = c.flags(pos)
				}
				c.add(pos)
				continue
			}
			if !(f2.space || f2.letter() || f2.number()) && f2.any() {
				if cpt == ' ' {
					pos++
				}
				for !(f2.space || f2.letter() || f2.number()) && f2.any() {
					pos++
					f2 = c.flags(pos)
				}
				c.add(pos)
				continue
			}
			ws := 0
			for c.flags(pos + ws).space {
				ws++
			}
			if ws > 1 && c.cpt(pos+ws) != outOfRange {
				pos += ws - 1
				c.add(pos)
				continue
			}
			if ws > 0 {
				pos += ws
				c.add(pos)
				continue
			}
			pos++
			c.add(pos)
		}
	}
	return out
}

// llama3Split is unicode_regex_split_custom_llama3:
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
type llama3Split struct{}

func (llama3Split) split(us []unit, _ *runeViews, pieces []int) []int {
	fl := unitFlags(us)
	out := make([]int, 0, len(pieces))
	start := 0
	for _, n := range pieces {
		c := &pieceCursor{us: us, fl: fl, ini: start, end: start + n, prevEnd: start, out: &out}
		start += n
		for pos := c.ini; pos < c.end; {
			cpt := c.cpt(pos)
			f := c.flags(pos)
			if cpt == '\'' && pos+1 < c.end {
				next := unicode.ToLower(c.cpt(pos + 1))
				if next == 's' || next == 't' || next == 'm' || next == 'd' {
					pos += c.add(pos + 2)
					continue
				}
				if pos+2 < c.end {
					nn := unicode.ToLower(c.cpt(pos + 2))
					if (next == 'r' && nn == 'e') || (next == 'v' && nn == 'e') || (next == 'l' && nn == 'l') {
						pos += c.add(pos + 3)
						continue
					}
				}
			}
			if !(cpt == '\r' || cpt == '\n' || f.number()) {
				if f.letter() || c.flags(pos+1).letter() {
					pos++
					for c.flags(pos).letter() {
						pos++
					}
					c.add(pos)
					continue
				}
			}
			if f.number() {
				ini := pos
				for c.flags(pos).number() {
					pos++
					if pos-ini >= 3 {
						c.add(pos)
						ini = pos
					}
				}
				c.add(pos)
				continue
			}
			f2 := f
			if cpt == ' ' {
				f2 = c.flags(pos + 1)
			}
			if !(f2.space || f2.letter() || f2.number()) && f.any() {
				if cpt == ' ' {
					pos++
				}
				for !(f2.space || f2.letter() || f2.number()) && f2.any() {
					pos++
					f2 = c.flags(pos)
				}
				c2 := c.cpt(pos)
				for c2 == '\r' || c2 == '\n' {
					pos++
					c2 = c.cpt(pos)
				}
				c.add(pos)
				continue
			}
			ws, lastRN := 0, 0
			for c.flags(pos + ws).space {
				c2 := c.cpt(pos + ws)
				if c2 == '\r' || c2 == '\n' {
					lastRN = pos + ws + 1
				}
				ws++
			}
			if lastRN > 0 {
				pos = lastRN
				c.add(pos)
				continue
			}
			if ws > 1 && c.cpt(pos+ws) != outOfRange {
				pos += ws - 1
				c.add(pos)
				continue
			}
			if ws > 0 {
				pos += ws
				c.add(pos)
				continue
			}
			pos++
			c.add(pos)
		}
	}
	return out
}

// split runs the pre-tokenizer over text and returns the words, byte
// encoded (bytes_to_unicode) when byteLevel is set. It fails only when a
// regex step does (a match timeout).
func (p *pretokenizer) split(text string) ([]string, error) {
	us := splitUnits(text)
	if len(us) == 0 {
		return nil, nil
	}
	views := &runeViews{us: us}
	pieces := []int{len(us)}
	for _, st := range p.steps {
		pieces = st.split(us, views, pieces)
		if views.err != nil {
			return nil, views.err
		}
	}
	words := make([]string, 0, len(pieces))
	start := 0
	for _, n := range pieces {
		if n == 0 {
			continue
		}
		words = append(words, text[us[start].start:us[start+n-1].end])
		start += n
	}
	return words, nil
}

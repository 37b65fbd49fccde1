package trace

import (
	"math"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/stats"
)

func nonFinite(n, nans, infs int) stats.Summary {
	xs := make([]float32, n)
	for i := range nans {
		xs[i] = float32(math.NaN())
	}
	for i := range infs {
		xs[nans+i] = float32(math.Inf(1))
	}
	return stats.Compute(xs)
}

func TestNumericalIssue(t *testing.T) {
	tests := []struct {
		op          string
		st          State
		layer, iter int
		out         stats.Summary
		code, msg   string
		hint        string
	}{
		{"blk.3.ffn_out", FFN, 3, 0, nonFinite(320, 12, 0), CodeNaN,
			"NaN produced by blk.3.ffn_out (FFN, layer 3, iteration 0): 12 of 320 values; inputs finite",
			"check blk.3.ffn_down.weight for non-finite values (inspect --stats) and the activation range of ffn_act"},
		{"embed", Embed, NoLayer, 2, nonFinite(64, 0, 1), CodeInf,
			"Inf produced by embed (EMBED, iteration 2): 1 of 64 values; inputs finite", "token_embd.weight"},
		{"blk.0.attn_heads", Attention, 0, 1, nonFinite(8, 2, 3), CodeNaN,
			"NaN produced by blk.0.attn_heads (ATTENTION, layer 0, iteration 1): 2 of 8 values; inputs finite (and 3 Inf)", "softmax overflow"},
		{"blk.1.attn_norm", LayerNorm, 1, 0, nonFinite(4, 4, 0), CodeNaN, "4 of 4 values", "eps"},
		{"output_norm", LayerNorm, NoLayer, 0, nonFinite(4, 1, 0), CodeNaN, "(LAYER_NORM, iteration 0)", "output_norm.weight"},
		{"logits", LMHead, NoLayer, 5, nonFinite(512, 0, 512), CodeInf, "Inf produced by logits (LM_HEAD, iteration 5): 512 of 512 values", "output.weight"},
		{"blk.4.q_rope", Attention, 4, 0, nonFinite(2, 1, 0), CodeNaN, "blk.4.q_rope", "blk.4.attn_q.weight"},
		{"blk.4.k_rope", Attention, 4, 0, nonFinite(2, 1, 0), CodeNaN, "blk.4.k_rope", "blk.4.attn_k.weight"},
		{"blk.2.v", Attention, 2, 0, nonFinite(2, 1, 0), CodeNaN, "blk.2.v", "blk.2.attn_v.weight"},
		{"blk.2.attn_out", Attention, 2, 0, nonFinite(2, 1, 0), CodeNaN, "blk.2.attn_out", "blk.2.attn_output.weight"},
		{"blk.2.ffn_gate", FFN, 2, 0, nonFinite(2, 1, 0), CodeNaN, "blk.2.ffn_gate", "blk.2.ffn_gate.weight"},
		{"blk.2.ffn_act", FFN, 2, 0, nonFinite(2, 0, 1), CodeInf, "blk.2.ffn_act", "SiLU"},
		{"blk.2.layer_out", TransformerBlock, 2, 0, nonFinite(2, 0, 1), CodeInf, "blk.2.layer_out", "residual stream"},
	}
	for _, tc := range tests {
		is := NumericalIssue(tc.op, tc.st, tc.layer, tc.iter, tc.out)
		if is.Code != tc.code || is.Severity != SevError || is.Op != tc.op {
			t.Errorf("%s: code %s severity %s op %s", tc.op, is.Code, is.Severity, is.Op)
		}
		if !strings.Contains(is.Message, tc.msg) {
			t.Errorf("%s: message %q, want %q", tc.op, is.Message, tc.msg)
		}
		if !strings.Contains(is.Hint, tc.hint) {
			t.Errorf("%s: hint %q, want it to contain %q", tc.op, is.Hint, tc.hint)
		}
	}
	if got := NumericalIssue("blk.3.ffn_out", FFN, 3, 0, nonFinite(320, 12, 0)).Message; got != tests[0].msg {
		t.Errorf("message %q, want exactly %q", got, tests[0].msg)
	}
	prop := NumericalIssueFrom("blk.3.layer_out", TransformerBlock, 3, 0, nonFinite(10, 2, 0), nonFinite(10, 1, 1))
	if !strings.HasSuffix(prop.Message, "input already had 1 NaN and 1 Inf of 10 values") {
		t.Errorf("propagated message %q", prop.Message)
	}
}

func TestVocabOverflowAndShapeMismatch(t *testing.T) {
	v := VocabOverflow(600, 512)
	if v.Code != CodeVocabOverflow || v.Message != "token id 600 is outside the vocabulary of 512 tokens" || v.Hint == "" {
		t.Errorf("VocabOverflow = %+v", v)
	}
	s := ShapeMismatch("blk.0.attn_q", []int{64, 64}, []int{64, 32})
	if s.Code != CodeShapeMismatch || s.Message != "shape mismatch at blk.0.attn_q: want [64 64], got [64 32]" {
		t.Errorf("ShapeMismatch = %+v", s)
	}
}

func TestGarbageOutput(t *testing.T) {
	tests := []struct {
		text string
		bad  bool
	}{
		{"Once upon a time", false},
		{"", false},
		{"héllo wörld ünïcödé", false},
		{"日本語のテキスト", false},
		{"\uFFFD\uFFFD\uFFFDabc", true},                     // 3 of 6
		{"ab\uFFFD", true},                                  // 1 of 3 = 33%
		{"abc\uFFFD", false},                                // 1 of 4 = 25%
		{"abcdefg\uFFFD\uFFFD\uFFFD", false},                // exactly 30%: not more
		{"\uE000\uE001x", true},                             // private use
		{"\U00020000\U0002A6DFab", true},                    // plane 2
		{"\U0001F600 ok", false},                            // plane 1 emoji is fine
		{string([]byte{0xff, 0xfe, 0xfd}) + "a", true},      // invalid UTF-8 decodes as U+FFFD
		{"\U000F0000\U000F0001\U000F0002\U000F0003a", true}, // plane 15 private use
	}
	for _, tc := range tests {
		is := GarbageOutput(tc.text)
		if (is != nil) != tc.bad {
			t.Errorf("GarbageOutput(%q) = %v, want flagged %v", tc.text, is, tc.bad)
		}
		if is != nil && (is.Severity != SevWarning || is.Code != CodeGarbageOutput) {
			t.Errorf("GarbageOutput(%q) = %+v", tc.text, is)
		}
	}
}

package trace

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParseSteps(t *testing.T) {
	tests := []struct {
		spec string
		want []State
		err  string
	}{
		{"", []State{Tokenize, Embed, LayerNorm, Attention, FFN, TransformerBlock, LMHead, Sample, Decode, BrickProfile}, ""},
		{"all", []State{Tokenize, Embed, LayerNorm, Attention, FFN, TransformerBlock, LMHead, Sample, Decode, BrickProfile}, ""},
		{"ALL,kernel", States, ""},
		{"tokenize", []State{Tokenize}, ""},
		{"encode, embedding", []State{Tokenize, Embed}, ""},
		{"ln,attn,mlp", []State{LayerNorm, Attention, FFN}, ""},
		{"norm,layernorm", []State{LayerNorm}, ""},
		{"attention,ffn,layer", []State{Attention, FFN, TransformerBlock}, ""},
		{"transformer_block", []State{TransformerBlock}, ""},
		{"transformer", []State{TransformerBlock}, ""},
		{"lmhead,lm_head,head", []State{LMHead}, ""},
		{"sample,sampling,decode,detokenize", []State{Sample, Decode}, ""},
		{"kernel_launch", []State{KernelLaunch}, ""},
		{"brick,brick_profile,profiler,bricks", []State{BrickProfile}, ""},
		{"LM_HEAD,Transformer_Block,kernel_LAUNCH", []State{TransformerBlock, LMHead, KernelLaunch}, ""},
		{"embed,warp", nil, `unknown trace step "warp"; known steps: TOKENIZE (tokenize, encode); EMBED (embed, embedding); `},
		{"embed,,ffn", nil, `unknown trace step ""`},
		{"brick_profile,kernels", nil, "KERNEL_LAUNCH (kernel, kernel_launch); BRICK_PROFILE (brick, brick_profile, profiler, bricks)"},
	}
	for _, tc := range tests {
		got, err := ParseSteps(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSteps(%q) error = %v, want it to contain %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSteps(%q): %v", tc.spec, err)
			continue
		}
		if !slices.Equal(got.List(), tc.want) {
			t.Errorf("ParseSteps(%q) = %v, want %v", tc.spec, got.List(), tc.want)
		}
		for _, st := range States {
			if got.Has(st) != slices.Contains(tc.want, st) {
				t.Errorf("ParseSteps(%q).Has(%s) = %v", tc.spec, st, got.Has(st))
			}
		}
	}
	if Steps(0).Has("NOPE") || AllSteps.Has("NOPE") {
		t.Error("Has of an unknown state is true")
	}
}

func TestStepNumber(t *testing.T) {
	want := map[State]int{Tokenize: 1, Embed: 2, LayerNorm: 3, Attention: 3, FFN: 3, TransformerBlock: 3,
		LMHead: 4, Sample: 5, Decode: 6, KernelLaunch: 7, BrickProfile: 8, "NOPE": 0}
	for st, n := range want {
		if got := StepNumber(st); got != n {
			t.Errorf("StepNumber(%s) = %d, want %d", st, got, n)
		}
	}
}

func TestParseInjection(t *testing.T) {
	tests := []struct {
		spec string
		want Injection
		err  string
	}{
		{"nan@blk.3.ffn_out", Injection{Kind: InjectNaN, Op: "blk.3.ffn_out", Layer: 3, Stage: "ffn_out", Iteration: -1, Index: -1}, ""},
		{"inf@embed", Injection{Kind: InjectInf, Op: "embed", Layer: -1, Stage: "embed", Iteration: -1, Index: -1}, ""},
		{"-inf@logits:index=7", Injection{Kind: InjectNegInf, Op: "logits", Layer: -1, Stage: "logits", Iteration: -1, Index: 7}, ""},
		{"zero@attn_heads:iteration=2", Injection{Kind: InjectZero, Op: "attn_heads", Layer: -1, Stage: "attn_heads", Iteration: 2, Index: -1}, ""},
		{"scale=1e30@blk.0.v:iteration=1:index=0", Injection{Kind: InjectScale, Factor: 1e30, Op: "blk.0.v", Layer: 0, Stage: "v", Iteration: 1, Index: 0}, ""},
		{"NaN@blk.12.q_rope:index=3:iteration=0", Injection{Kind: InjectNaN, Op: "blk.12.q_rope", Layer: 12, Stage: "q_rope", Iteration: 0, Index: 3}, ""},
		{"scale=-0.5@output_norm", Injection{Kind: InjectScale, Factor: -0.5, Op: "output_norm", Layer: -1, Stage: "output_norm", Iteration: -1, Index: -1}, ""},
		{"nan", Injection{}, "want KIND@OP"},
		{"nan@", Injection{}, "missing op"},
		{"boom@embed", Injection{}, `unknown kind "boom"`},
		{"scale@embed", Injection{}, "scale needs a factor"},
		{"scale=x@embed", Injection{}, `scale factor "x" is not a finite number`},
		{"scale=inf@embed", Injection{}, "not a finite number"},
		{"nan@ffn_outt", Injection{}, `unknown op "ffn_outt"`},
		{"nan@blk.x.ffn_out", Injection{}, `layer "x" is not a non-negative integer`},
		{"nan@blk.-1.ffn_out", Injection{}, "not a non-negative integer"},
		{"nan@blk.3", Injection{}, "want blk.N.stage"},
		{"nan@blk.3.logits", Injection{}, "logits is not a block stage"},
		{"nan@blk.3.wobble", Injection{}, `unknown stage "wobble"`},
		{"nan@embed:index", Injection{}, `option "index" is not key=value`},
		{"nan@embed:index=-2", Injection{}, `index="-2" is not a non-negative integer`},
		{"nan@embed:index=1:index=2", Injection{}, "index given twice"},
		{"nan@embed:iteration=1:iteration=2", Injection{}, "iteration given twice"},
		{"nan@embed:layer=1", Injection{}, `unknown option "layer"`},
	}
	for _, tc := range tests {
		got, err := ParseInjection(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.spec) {
				t.Errorf("ParseInjection(%q) error = %v, want it to name the spec and contain %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseInjection(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
			continue
		}
		// String is the canonical spec and parses back to the same value.
		back, err := ParseInjection(got.String())
		if err != nil || back != got {
			t.Errorf("ParseInjection(%q.String() = %q) = %+v, %v", tc.spec, got.String(), back, err)
		}
	}
}

func TestInjectionMatchesAndApply(t *testing.T) {
	in, _ := ParseInjection("nan@blk.2.ffn_out:iteration=1")
	for _, tc := range []struct {
		stage       string
		layer, iter int
		want        bool
	}{{"ffn_out", 2, 1, true}, {"ffn_out", 1, 1, false}, {"ffn_out", 2, 0, false}, {"ffn_act", 2, 1, false}} {
		if got := in.Matches(tc.stage, tc.layer, tc.iter); got != tc.want {
			t.Errorf("Matches(%s, %d, %d) = %v", tc.stage, tc.layer, tc.iter, got)
		}
	}
	every, _ := ParseInjection("zero@ffn_out")
	if !every.Matches("ffn_out", 7, 9) {
		t.Error("unqualified injection does not match every layer and iteration")
	}

	base := []float32{1, -2, 3}
	for _, tc := range []struct {
		spec string
		want []float64
	}{
		{"nan@embed", []float64{math.NaN(), math.NaN(), math.NaN()}},
		{"inf@embed:index=1", []float64{1, math.Inf(1), 3}},
		{"-inf@embed:index=0", []float64{math.Inf(-1), -2, 3}},
		{"zero@embed", []float64{0, 0, 0}},
		{"scale=2@embed", []float64{2, -4, 6}},
		{"scale=2@embed:index=9", []float64{1, -2, 3}}, // past the end: ignored
	} {
		in, err := ParseInjection(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		x := slices.Clone(base)
		in.Apply(x)
		for i := range x {
			g, w := float64(x[i]), tc.want[i]
			if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				t.Errorf("%s: Apply = %v, want %v", tc.spec, x, tc.want)
				break
			}
		}
	}
}

package trace

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/infertrace/infertrace/stats"
)

// Issue codes.
const (
	CodeNaN           = "NumericalError.NaN"
	CodeInf           = "NumericalError.Inf"
	CodeVocabOverflow = "VocabOverflow"
	CodeGarbageOutput = "GarbageOutput"
	CodeShapeMismatch = "ShapeMismatch"
)

// NumericalIssue describes the first non-finite output of op (a stage name,
// "blk.3.ffn_out" for block stages) produced by state st. It assumes the
// op's inputs were finite, which holds when the engine checks every stage
// in order; use NumericalIssueFrom when that is not known.
func NumericalIssue(op string, st State, layer, iteration int, out stats.Summary) Issue {
	return numericalIssue(op, st, layer, iteration, out, "inputs finite")
}

// NumericalIssueFrom is NumericalIssue with the summary of the op's input,
// so that a propagated error says where it came from.
func NumericalIssueFrom(op string, st State, layer, iteration int, out, in stats.Summary) Issue {
	inputs := "inputs finite"
	if !in.Finite() {
		inputs = fmt.Sprintf("input already had %d NaN and %d Inf of %d values", in.NaN, in.Inf, in.N)
	}
	return numericalIssue(op, st, layer, iteration, out, inputs)
}

func numericalIssue(op string, st State, layer, iteration int, out stats.Summary, inputs string) Issue {
	code, what, n := CodeNaN, "NaN", out.NaN
	if out.NaN == 0 {
		code, what, n = CodeInf, "Inf", out.Inf
	}
	where := string(st)
	if layer >= 0 {
		where += fmt.Sprintf(", layer %d", layer)
	}
	where += fmt.Sprintf(", iteration %d", iteration)
	msg := fmt.Sprintf("%s produced by %s (%s): %d of %d values; %s", what, op, where, n, out.N, inputs)
	if out.NaN > 0 && out.Inf > 0 {
		msg += fmt.Sprintf(" (and %d Inf)", out.Inf)
	}
	return Issue{Severity: SevError, Code: code, Op: op, Message: msg, Hint: numericalHint(op, layer)}
}

// numericalHint says where to look next for a non-finite output of op.
func numericalHint(op string, layer int) string {
	stage, l := splitOp(op)
	if l < 0 {
		l = layer
	}
	blk := "blk." + strconv.Itoa(l) + "."
	if l < 0 {
		blk = "blk.N."
	}
	switch stage {
	case "embed":
		return "check token_embd.weight for non-finite values (inspect --stats) and that the token id is within the vocabulary"
	case "attn_norm", "ffn_norm":
		return fmt.Sprintf("check the RMS norm eps (zero-variance input divides by ~0) and %s%s.weight (inspect --stats); look at the previous layer_out range", blk, stage)
	case "output_norm":
		return "check the RMS norm eps (zero-variance input divides by ~0) and output_norm.weight (inspect --stats); look at the last layer_out range"
	case "q_rope", "k_rope":
		w := "attn_q"
		if stage == "k_rope" {
			w = "attn_k"
		}
		return fmt.Sprintf("check %s%s.weight for non-finite values (inspect --stats), the rope frequency base, and the attn_norm output range", blk, w)
	case "v":
		return fmt.Sprintf("check %sattn_v.weight for non-finite values (inspect --stats) and the attn_norm output range", blk)
	case "attn_heads":
		return "attention softmax overflow: check the 1/sqrt(head_dim) score scale, the q_rope/k_rope ranges and the KV cache contents"
	case "attn_out":
		return fmt.Sprintf("check %sattn_output.weight for non-finite values (inspect --stats) and the attn_heads range", blk)
	case "attn_residual", "layer_out":
		return "the residual stream overflowed: compare the layer_out range across layers to find where it starts growing"
	case "ffn_gate", "ffn_up":
		return fmt.Sprintf("check %s%s.weight for non-finite values (inspect --stats) and the ffn_norm output range", blk, stage)
	case "ffn_act":
		return fmt.Sprintf("the SiLU(gate)*up product overflowed: check the ffn_gate and ffn_up ranges and %sffn_gate.weight", blk)
	case "ffn_out":
		return fmt.Sprintf("check %sffn_down.weight for non-finite values (inspect --stats) and the activation range of ffn_act", blk)
	case "logits":
		return "check output.weight (token_embd.weight when tied) for non-finite values (inspect --stats) and the output_norm range"
	}
	return "inspect the weights of this op (inspect --stats) and the range of its inputs"
}

// splitOp splits "blk.3.ffn_out" into ("ffn_out", 3) and "logits" into
// ("logits", -1).
func splitOp(op string) (string, int) {
	if rest, ok := strings.CutPrefix(op, "blk."); ok {
		if num, stage, ok := strings.Cut(rest, "."); ok {
			if n, err := strconv.Atoi(num); err == nil {
				return stage, n
			}
		}
	}
	return op, -1
}

// VocabOverflow reports a token id outside [0, vocab).
func VocabOverflow(id, vocab int) Issue {
	return Issue{Severity: SevError, Code: CodeVocabOverflow, Op: "sample",
		Message: fmt.Sprintf("token id %d is outside the vocabulary of %d tokens", id, vocab),
		Hint:    "check that the lm_head output size matches the tokenizer vocabulary (inspect the model's vocab_size and output.weight shape)"}
}

// garbageShare is the fraction of suspicious runes above which decoded
// text is flagged.
const garbageShare = 0.30

// GarbageOutput returns a warning when more than 30% of the runes of text
// are U+FFFD (invalid UTF-8 decodes as U+FFFD too), private-use, or in
// plane 2 and up (rare CJK, unassigned, supplementary private use): what a
// broken model or tokenizer produces. It returns nil otherwise.
func GarbageOutput(text string) *Issue {
	total, bad := 0, 0
	for _, r := range text {
		total++
		if r == unicode.ReplacementChar || unicode.Is(unicode.Co, r) || r >= 0x20000 {
			bad++
		}
	}
	if total == 0 || float64(bad) <= garbageShare*float64(total) {
		return nil
	}
	return &Issue{Severity: SevWarning, Code: CodeGarbageOutput, Op: "decode",
		Message: fmt.Sprintf("decoded text looks like garbage: %d of %d characters are replacement, private-use or rare-plane characters", bad, total),
		Hint:    "check the tokenizer (vocab type, byte-fallback pieces) and the logits of the last LM_HEAD for a flat or non-finite distribution"}
}

// ShapeMismatch reports a tensor of op whose shape is not the expected one.
func ShapeMismatch(op string, want, got []int) Issue {
	return Issue{Severity: SevError, Code: CodeShapeMismatch, Op: op,
		Message: fmt.Sprintf("shape mismatch at %s: want %v, got %v", op, want, got),
		Hint:    "check the model hyper-parameters (inspect) against the tensor shapes in the file"}
}

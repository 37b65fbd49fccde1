// Package trace owns the event vocabulary of an inference run (states,
// history events, payloads, errors and hints), the sinks that write them
// (text, streaming JSON), the streaming replay reader, trace validation,
// the Jidoka checks and the brick profiler. A live run and a replay produce
// the same Event values.
package trace

import (
	"time"

	"github.com/infertrace/infertrace/stats"
)

// State is a node of the inference state machine.
type State string

// The states, in pipeline order.
const (
	Tokenize         State = "TOKENIZE"
	Embed            State = "EMBED"
	LayerNorm        State = "LAYER_NORM"
	Attention        State = "ATTENTION"
	FFN              State = "FFN"
	TransformerBlock State = "TRANSFORMER_BLOCK"
	LMHead           State = "LM_HEAD"
	Sample           State = "SAMPLE"
	Decode           State = "DECODE"
	KernelLaunch     State = "KERNEL_LAUNCH"
	BrickProfile     State = "BRICK_PROFILE"
)

// EventType is the AWS Step Functions history event type.
type EventType string

// History event types.
const (
	ExecutionStarted   EventType = "ExecutionStarted"
	TaskStateEntered   EventType = "TaskStateEntered"
	TaskStateExited    EventType = "TaskStateExited"
	ExecutionFailed    EventType = "ExecutionFailed"
	ExecutionSucceeded EventType = "ExecutionSucceeded"
	ExecutionAborted   EventType = "ExecutionAborted"
)

// NoLayer is Payload.Layer for states outside a transformer block.
const NoLayer = -1

// Event is one history event. Entered events carry the state's input
// payload, Exited events its output payload; ExecutionFailed carries Error
// and Cause (and Hint). IDs start at 1 and have no gaps.
type Event struct {
	ID         int64
	PreviousID int64
	Time       time.Time
	Type       EventType
	State      State    // Entered/Exited only
	Payload    *Payload // Entered: input, Exited: output
	Error      string   // ExecutionFailed: "NumericalError.NaN", ...
	Cause      string   // ExecutionFailed: one human sentence naming the producer
	Hint       string   // ExecutionFailed: what to look at next
	Run        *RunInfo // ExecutionStarted: the run's settings (its input)
}

// Payload is the JSON held (as a string, as in AWS) by `input`/`output`.
type Payload struct {
	Iteration  int            `json:"iteration"`
	Layer      int            `json:"layer"`  // NoLayer outside blocks
	Parent     int64          `json:"parent"` // 0 at top level
	Shape      []int          `json:"shape,omitempty"`
	DurationUS float64        `json:"duration_us,omitempty"`
	Stats      *stats.Summary `json:"stats,omitempty"`
	// Tensors names the statistics of the tensors the state computed. The
	// engine shares one summary between the events that report it (a
	// block and its child state, Stats): read-only. Pointers, so that a
	// traced step's ~320 entries cost an 8-byte map slot each, not a
	// summary-sized one.
	Tensors map[string]*stats.Summary `json:"tensors,omitempty"`
	Values  map[string][]float32      `json:"values,omitempty"` // --trace-verbose: first values per tensor

	// TOKENIZE
	Text     string   `json:"text,omitempty"`
	TokenIDs []int    `json:"token_ids,omitempty"`
	Pieces   []string `json:"pieces,omitempty"`

	// LM_HEAD
	TopKLogits []TokenScore `json:"top_k_logits,omitempty"`

	// SAMPLE
	Sampler     *SamplerConfig `json:"sampler,omitempty"`
	TopKProbs   []TokenScore   `json:"top_k_probs,omitempty"`
	SampledID   *int           `json:"sampled_id,omitempty"`
	SampledProb float64        `json:"sampled_prob,omitempty"`
	SampledRank int            `json:"sampled_rank,omitempty"` // 1 = the largest raw logit

	// DECODE
	TokenID   *int   `json:"token_id,omitempty"`
	Piece     string `json:"piece,omitempty"`
	TextAdded string `json:"text_added,omitempty"`

	// KERNEL_LAUNCH
	Kernel *KernelInfo `json:"kernel,omitempty"`

	// BRICK_PROFILE
	Profile *Profile `json:"profile,omitempty"`

	// Issues found at this state (Jidoka): errors and warnings.
	Issues []Issue `json:"issues,omitempty"`
}

// TokenScore is one (id, score, piece) entry of a top-k list; it is written
// as the JSON array [id, score, piece].
type TokenScore struct {
	ID    int
	Score float64
	Piece string
}

// SamplerConfig is the sampler's settings.
type SamplerConfig struct {
	Temperature   float64 `json:"temperature"`
	TopK          int     `json:"top_k"`
	TopP          float64 `json:"top_p"`
	MinP          float64 `json:"min_p"`
	RepeatPenalty float64 `json:"repeat_penalty"`
	RepeatLastN   int     `json:"repeat_last_n,omitempty"`
	Seed          uint64  `json:"seed"`
}

// KernelInfo records one kernel dispatch.
type KernelInfo struct {
	Name          string  `json:"name"` // e.g. "matvec_q8_0_avx2"
	Weight        string  `json:"weight,omitempty"`
	Rows          int     `json:"rows"`
	Cols          int     `json:"cols"`
	Batch         int     `json:"batch"`
	Workers       int     `json:"workers"`
	RowsPerWorker int     `json:"rows_per_worker"`
	Strategy      string  `json:"strategy"`
	DurationUS    float64 `json:"duration_us"`
	FLOPs         int64   `json:"flops"`
	BytesRead     int64   `json:"bytes_read"`
}

// Profile is the brick profile of one iteration (and the running total).
type Profile struct {
	Bricks     []BrickStat    `json:"bricks"`
	Categories []CategoryStat `json:"categories"`
	WallNS     int64          `json:"wall_ns"`
	MeasuredNS int64          `json:"measured_ns"`
	Coverage   float64        `json:"coverage"` // measured / wall
	Total      *Profile       `json:"total,omitempty"`
}

// BrickStat is the measured cost of one brick kind over an iteration.
type BrickStat struct {
	Name    string  `json:"name"` // RmsNorm, QkvProjection, ...
	TotalNS int64   `json:"total_ns"`
	Count   int     `json:"count"`
	FLOPs   int64   `json:"flops"`
	Bytes   int64   `json:"bytes"`
	GFLOPS  float64 `json:"gflops"`
	GBps    float64 `json:"gbps"`
}

// CategoryStat sums bricks by category (Norm, Attention, FFN, Other).
type CategoryStat struct {
	Name    string  `json:"name"`
	TotalNS int64   `json:"total_ns"`
	Share   float64 `json:"share"`
}

// Severity of an Issue.
type Severity string

// Severities.
const (
	SevError   Severity = "error"
	SevWarning Severity = "warning"
)

// Issue is a Jidoka finding.
type Issue struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"` // NumericalError.NaN, NumericalError.Inf, VocabOverflow, GarbageOutput, ShapeMismatch
	Op       string   `json:"op,omitempty"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
}

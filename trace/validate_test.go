package trace

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/infertrace/infertrace/stats"
)

// validRun is a well-formed history: TOKENIZE, a block holding a
// LAYER_NORM, success.
func validRun() []Event {
	evs := []Event{
		{Type: ExecutionStarted},
		{Type: TaskStateEntered, State: Tokenize, Payload: &Payload{Layer: NoLayer}},
		{Type: TaskStateExited, State: Tokenize, Payload: &Payload{Layer: NoLayer}},
		{Type: TaskStateEntered, State: TransformerBlock, Payload: &Payload{Layer: 0}},
		{Type: TaskStateEntered, State: LayerNorm, Payload: &Payload{Layer: 0, Parent: 4}},
		{Type: TaskStateExited, State: LayerNorm, Payload: &Payload{Layer: 0, Parent: 4}},
		{Type: TaskStateExited, State: TransformerBlock, Payload: &Payload{Layer: 0}},
		{Type: ExecutionSucceeded},
	}
	return renumber(evs)
}

func renumber(evs []Event) []Event {
	for i := range evs {
		evs[i].ID, evs[i].PreviousID = int64(i+1), int64(i)
	}
	return evs
}

func validateEvents(t *testing.T, evs []Event) []Violation {
	t.Helper()
	doc := encode(t, testHeader(), evs, Summary{Status: StatusSucceeded})
	rd, err := OpenReader(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return Validate(rd)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func([]Event) []Event
		rules []string // expected violation rules, in order
		msg   string   // expected in the first message
	}{
		{"valid", func(e []Event) []Event { return e }, nil, ""},
		{"gap in ids", func(e []Event) []Event {
			for i := 3; i < len(e); i++ {
				e[i].ID, e[i].PreviousID = e[i].ID+1, e[i].PreviousID+1
			}
			e[3].PreviousID = 3
			e[4].Payload.Parent, e[5].Payload.Parent = 5, 5
			return e
		}, []string{"id", "previous"}, "id 5, want 4"},
		{"previous not id-1", func(e []Event) []Event { e[2].PreviousID = 1; return e }, []string{"previous"}, "previousEventId 1, want 2"},
		{"previous not earlier", func(e []Event) []Event { e[2].PreviousID = 3; return e }, []string{"previous"}, "not earlier"},
		{"not started first", func(e []Event) []Event { e[4].Payload.Parent, e[5].Payload.Parent = 3, 3; return renumber(e[1:]) }, []string{"first"}, "first event is TaskStateEntered"},
		{"started twice", func(e []Event) []Event {
			return renumber(slices.Insert(e, 7, Event{Type: ExecutionStarted}))
		}, []string{"first"}, "ExecutionStarted again"},
		{"exit without enter", func(e []Event) []Event {
			return renumber(slices.Insert(e, 7, Event{Type: TaskStateExited, State: Embed}))
		}, []string{"unmatched-exit"}, "EMBED exited but no state is open"},
		{"exit of another state", func(e []Event) []Event { e[5].State = FFN; return e }, []string{"unmatched-exit", "nesting"}, "FFN exited but the open state is LAYER_NORM"},
		{"parent closed before child", func(e []Event) []Event {
			e[5], e[6] = e[6], e[5]
			return renumber(e)
		}, []string{"nesting", "unmatched-exit"}, "TRANSFORMER_BLOCK (entered at event 4) exited before its child LAYER_NORM (entered at event 5)"},
		{"wrong parent", func(e []Event) []Event { e[4].Payload.Parent = 2; return e }, []string{"parent"}, "parent 2, want 4"},
		{"exit names another parent", func(e []Event) []Event { e[5].Payload.Parent = 1; return e }, []string{"parent"}, "LAYER_NORM (entered at event 5) exits with parent 1, want 4"},
		{"parent without open state", func(e []Event) []Event { e[1].Payload.Parent = 1; return e }, []string{"parent"}, "no state is open"},
		{"unclosed at success", func(e []Event) []Event {
			return renumber(append(e[:6:6], Event{Type: ExecutionSucceeded}))
		}, []string{"unclosed"}, "TRANSFORMER_BLOCK was never exited"},
		{"open states at failure", func(e []Event) []Event {
			return renumber(append(e[:5:5], Event{Type: ExecutionFailed, Error: CodeNaN}))
		}, []string{"unclosed", "unclosed"}, "TRANSFORMER_BLOCK was never exited (before the final ExecutionFailed)"},
		{"states exited before the failure", func(e []Event) []Event {
			return renumber(append(e[:7:7], Event{Type: ExecutionFailed, Error: CodeNaN}))
		}, nil, ""},
		{"no final event", func(e []Event) []Event { return e[:7] }, []string{"final"}, "no final"},
		{"two final events", func(e []Event) []Event {
			return renumber(append(e, Event{Type: ExecutionAborted}))
		}, []string{"after-final", "final"}, "ExecutionAborted after the final event 8"},
		{"event after final", func(e []Event) []Event {
			return renumber(append(e, Event{Type: TaskStateEntered, State: Decode, Payload: &Payload{}}))
		}, []string{"after-final"}, "TaskStateEntered after the final event"},
		{"unknown state", func(e []Event) []Event { e[1].State, e[2].State = "WARP", "WARP"; return e }, []string{"state"}, `unknown state "WARP"`},
		{"unknown type", func(e []Event) []Event { e[2].Type = "TaskStateWobbled"; return e }, []string{"type", "parent", "unclosed"}, `unknown event type "TaskStateWobbled"`},
		{"hists bin the finite values", func(e []Event) []Event {
			s := stats.Compute([]float32{1, 2, float32(math.NaN()), 4})
			e[5].Payload.Stats = &s
			e[5].Payload.Tensors = map[string]*stats.Summary{"attn_norm": &s, "old": {N: 3}}
			return e
		}, nil, ""},
		{"hist short of the finite values", func(e []Event) []Event {
			s := stats.Compute([]float32{1, 2, float32(math.NaN()), 4})
			bad := s
			bad.Hist[0]--
			e[5].Payload.Stats = &s
			e[5].Payload.Tensors = map[string]*stats.Summary{"attn_norm": &s, "ffn_norm": &bad}
			return e
		}, []string{"hist"}, "event 6: hist: tensors.ffn_norm: hist bins 2 values, want the 3 finite ones"},
		{"empty", func(e []Event) []Event { return nil }, []string{"empty"}, "no events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := validateEvents(t, tc.edit(validRun()))
			var rules []string
			for _, v := range vs {
				rules = append(rules, v.Rule)
			}
			if !slices.Equal(rules, tc.rules) {
				t.Fatalf("rules %v, want %v; violations:\n%v", rules, tc.rules, vs)
			}
			if tc.msg != "" && !strings.Contains(vs[0].String(), tc.msg) {
				t.Errorf("first violation %q does not contain %q", vs[0], tc.msg)
			}
		})
	}
}

func TestValidateTruncated(t *testing.T) {
	doc := encode(t, testHeader(), validRun(), Summary{Status: StatusSucceeded})
	i := bytes.Index(doc, []byte(`{"id":6`))
	rd, err := OpenReader(bytes.NewReader(doc[:i+10]))
	if err != nil {
		t.Fatal(err)
	}
	vs := Validate(rd)
	if len(vs) == 0 || vs[0].Rule != "read" || !strings.Contains(vs[0].Message, "truncated at byte") || !strings.Contains(vs[0].Message, "after 5 events") {
		t.Fatalf("violations %v, want a read violation naming the cut", vs)
	}
}

func TestValidateCapsViolations(t *testing.T) {
	var v Validator
	for i := range maxViolations + 10 {
		v.Check(Event{ID: int64(i + 7), PreviousID: int64(i + 6), Type: ExecutionStarted})
	}
	vs := v.Finish()
	if len(vs) != maxViolations+1 || vs[len(vs)-1].Rule != "more" {
		t.Fatalf("got %d violations, last %v", len(vs), vs[len(vs)-1])
	}
}

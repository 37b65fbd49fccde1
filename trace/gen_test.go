package trace

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/infertrace/infertrace/stats"
	"pgregory.net/rapid"
)

// Generators of random events for the property tests. Values that JSON
// cannot distinguish (+Inf vs NaN, empty vs nil) are generated in their
// canonical form only.

func genFloat32() *rapid.Generator[float32] {
	return rapid.Custom(func(t *rapid.T) float32 {
		if rapid.IntRange(0, 9).Draw(t, "special") == 0 {
			return float32(math.NaN())
		}
		return rapid.Float32Range(-1e6, 1e6).Draw(t, "f")
	})
}

// genSummaryPtr is genSummary's values by pointer (Payload.Tensors).
func genSummaryPtr() *rapid.Generator[*stats.Summary] {
	return rapid.Custom(func(t *rapid.T) *stats.Summary {
		s := genSummary().Draw(t, "s")
		return &s
	})
}

func genSummary() *rapid.Generator[stats.Summary] {
	return rapid.Custom(func(t *rapid.T) stats.Summary {
		xs := rapid.SliceOfN(genFloat32(), 0, 8).Draw(t, "xs")
		return stats.Compute(xs)
	})
}

func genString() *rapid.Generator[string] { return rapid.StringN(0, 12, -1) }

func maybe[T any](t *rapid.T, label string, g *rapid.Generator[T]) *T {
	if !rapid.Bool().Draw(t, label+"?") {
		return nil
	}
	v := g.Draw(t, label)
	return &v
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func genPayload() *rapid.Generator[Payload] {
	return rapid.Custom(func(t *rapid.T) Payload {
		p := Payload{
			Iteration:  rapid.IntRange(0, 100).Draw(t, "iter"),
			Layer:      rapid.IntRange(-1, 40).Draw(t, "layer"),
			Parent:     rapid.Int64Range(0, 1000).Draw(t, "parent"),
			Shape:      nilIfEmpty(rapid.SliceOfN(rapid.IntRange(1, 4096), 0, 3).Draw(t, "shape")),
			DurationUS: float64(rapid.IntRange(0, 1e6).Draw(t, "dur")) / 4,
			Stats:      maybe(t, "stats", genSummary()),
			Text:       genString().Draw(t, "text"),
			TokenIDs:   nilIfEmpty(rapid.SliceOfN(rapid.IntRange(0, 32000), 0, 5).Draw(t, "ids")),
			Piece:      genString().Draw(t, "piece"),
			TextAdded:  genString().Draw(t, "added"),
			SampledID:  maybe(t, "sampled", rapid.IntRange(0, 512)),
			TokenID:    maybe(t, "tokid", rapid.IntRange(0, 512)),
		}
		if rapid.Bool().Draw(t, "tensors?") {
			p.Tensors = rapid.MapOfN(rapid.SampledFrom(StageNames), genSummaryPtr(), 1, 3).Draw(t, "tensors")
		}
		if rapid.Bool().Draw(t, "values?") {
			p.Values = rapid.MapOfN(rapid.SampledFrom(StageNames), rapid.SliceOfN(genFloat32(), 0, 6), 1, 3).Draw(t, "values")
		}
		ts := rapid.Custom(func(t *rapid.T) TokenScore {
			s := float64(genFloat32().Draw(t, "score"))
			return TokenScore{ID: rapid.IntRange(0, 512).Draw(t, "id"), Score: s, Piece: genString().Draw(t, "p")}
		})
		p.TopKLogits = nilIfEmpty(rapid.SliceOfN(ts, 0, 4).Draw(t, "topk"))
		p.TopKProbs = nilIfEmpty(rapid.SliceOfN(ts, 0, 4).Draw(t, "topp"))
		if rapid.Bool().Draw(t, "sampler?") {
			p.Sampler = &SamplerConfig{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, Seed: rapid.Uint64().Draw(t, "seed")}
			p.SampledProb = float64(rapid.IntRange(0, 1000).Draw(t, "prob")) / 1000
			p.SampledRank = rapid.IntRange(0, 10).Draw(t, "rank")
		}
		if rapid.Bool().Draw(t, "kernel?") {
			p.Kernel = &KernelInfo{Name: "matvec_q8_0", Weight: "blk.0.attn_q.weight", Rows: 64, Cols: 64, Batch: 1,
				Workers: 2, RowsPerWorker: 32, Strategy: "rows", DurationUS: 12.5, FLOPs: 8192, BytesRead: 4352}
		}
		if rapid.Bool().Draw(t, "profile?") {
			pr := NewProfiler()
			pr.Start(0)
			for range rapid.IntRange(0, 5).Draw(t, "adds") {
				pr.Add(Brick(rapid.IntRange(0, int(NumBricks)-1).Draw(t, "brick")), rapid.Int64Range(1, 1e6).Draw(t, "ns"), 100, 200)
			}
			prof := pr.Finish(rapid.Int64Range(1, 1e7).Draw(t, "wall"))
			p.Profile = &prof
		}
		if rapid.Bool().Draw(t, "issue?") {
			out := stats.Compute([]float32{float32(math.NaN()), 1})
			p.Issues = []Issue{NumericalIssue("blk.1.ffn_out", FFN, 1, 0, out)}
		}
		return p
	})
}

var eventTypes = []EventType{ExecutionStarted, TaskStateEntered, TaskStateExited, ExecutionSucceeded, ExecutionFailed, ExecutionAborted}

// genEvents returns n events with contiguous ids (not a valid run: the
// types are random).
func genEvents() *rapid.Generator[[]Event] {
	return rapid.Custom(func(t *rapid.T) []Event {
		n := rapid.IntRange(0, 12).Draw(t, "n")
		base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		evs := make([]Event, n)
		for i := range evs {
			ev := Event{ID: int64(i + 1), PreviousID: int64(i), Type: rapid.SampledFrom(eventTypes).Draw(t, "type"),
				Time: base.Add(time.Duration(rapid.IntRange(0, 1e6).Draw(t, "ms")) * time.Millisecond)}
			switch ev.Type {
			case ExecutionStarted:
				ev.Run = &RunInfo{Prompt: genString().Draw(t, "prompt"), NPredict: 4, Threads: 2, Steps: AllSteps.Names()}
			case TaskStateEntered, TaskStateExited:
				ev.State = rapid.SampledFrom(States).Draw(t, "state")
				ev.Payload = maybe(t, "payload", genPayload())
			case ExecutionSucceeded:
				ev.Payload = maybe(t, "payload", genPayload())
			case ExecutionFailed, ExecutionAborted:
				ev.Error, ev.Cause, ev.Hint = genString().Draw(t, "err"), genString().Draw(t, "cause"), genString().Draw(t, "hint")
			}
			evs[i] = ev
		}
		return evs
	})
}

// deepEqual is reflect.DeepEqual with NaN equal to NaN and times compared
// with Equal.
func deepEqual(a, b any) error { return eq(reflect.ValueOf(a), reflect.ValueOf(b), "") }

var timeType = reflect.TypeOf(time.Time{})

func eq(a, b reflect.Value, path string) error {
	if a.IsValid() != b.IsValid() {
		return fmt.Errorf("%s: validity differs", path)
	}
	if !a.IsValid() {
		return nil
	}
	if a.Type() != b.Type() {
		return fmt.Errorf("%s: type %v vs %v", path, a.Type(), b.Type())
	}
	if a.Type() == timeType {
		if !a.Interface().(time.Time).Equal(b.Interface().(time.Time)) {
			return fmt.Errorf("%s: %v vs %v", path, a.Interface(), b.Interface())
		}
		return nil
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		if x != y && !(math.IsNaN(x) && math.IsNaN(y)) {
			return fmt.Errorf("%s: %v vs %v", path, x, y)
		}
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			return fmt.Errorf("%s: nil %v vs %v", path, a.IsNil(), b.IsNil())
		}
		if !a.IsNil() {
			return eq(a.Elem(), b.Elem(), path)
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Errorf("%s: slice nil %v/%v len %d/%d", path, a.IsNil(), b.IsNil(), a.Len(), b.Len())
		}
		for i := range a.Len() {
			if err := eq(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return fmt.Errorf("%s: map nil %v/%v len %d/%d", path, a.IsNil(), b.IsNil(), a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			if err := eq(a.MapIndex(k), b.MapIndex(k), fmt.Sprintf("%s[%v]", path, k)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if err := eq(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); err != nil {
				return err
			}
		}
	default:
		if a.Interface() != b.Interface() {
			return fmt.Errorf("%s: %v vs %v", path, a.Interface(), b.Interface())
		}
	}
	return nil
}

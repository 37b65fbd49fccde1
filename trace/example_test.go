package trace_test

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/infertrace/infertrace/stats"
	"github.com/infertrace/infertrace/trace"
)

func ExampleParseInjection() {
	in, err := trace.ParseInjection("scale=1e30@blk.3.ffn_out:iteration=2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(in.Stage, in.Layer, in.Iteration, in.Index, in.Matches("ffn_out", 3, 2), in.Matches("ffn_out", 4, 2))
	_, err = trace.ParseInjection("nan@blk.3.logits")
	fmt.Println(err)
	// Output:
	// ffn_out 3 2 -1 true false
	// injection "nan@blk.3.logits": op "blk.3.logits": logits is not a block stage and takes no blk.N. prefix
}

func ExampleNumericalIssue() {
	out := stats.Compute([]float32{1, float32(math.NaN()), 3, 4})
	is := trace.NumericalIssue("blk.3.ffn_out", trace.FFN, 3, 0, out)
	fmt.Println(is.Code)
	fmt.Println(is.Message)
	// Output:
	// NumericalError.NaN
	// NaN produced by blk.3.ffn_out (FFN, layer 3, iteration 0): 1 of 4 values; inputs finite
}

func ExampleNewJSONWriter() {
	var b strings.Builder
	w, _ := trace.NewJSONWriter(&b, trace.Header{Created: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	at := time.Date(2026, 1, 1, 0, 0, 0, 5e6, time.UTC)
	w.Write(trace.Event{Type: trace.TaskStateEntered, State: trace.Embed, Time: at, Payload: &trace.Payload{Layer: trace.NoLayer}})
	w.Abort("interrupt")
	fmt.Println(strings.Split(b.String(), "\n")[1])
	// Output:
	// {"id":1,"previousEventId":0,"timestamp":"2026-01-01T00:00:00.005Z","type":"TaskStateEntered","stateEnteredEventDetails":{"name":"EMBED","input":"{\"iteration\":0,\"layer\":-1,\"parent\":0}"}},
}

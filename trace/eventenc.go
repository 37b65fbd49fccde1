package trace

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/infertrace/infertrace/stats"
)

// encoder writes events as Event.MarshalJSON does, into buffers it reuses.
// A traced decode step writes ~130 events, most of them a state's
// statistics and little else; for those (plainPayload) the payload is
// written straight in its escaped form (it is a JSON string inside the
// event), and the escaped JSON of recent summaries is kept, since one
// tensor's summary appears in up to four events (the producing state's
// tensors and stats, the enclosing block's tensors, the next state's
// input). Other payloads are written (appendPayloadJSON) and then escaped. A JSONWriter owns one encoder; it is not safe for
// concurrent use.
type encoder struct {
	buf   []byte                           // the event being written
	tmp   []byte                           // a summary or a key before escaping
	keys  []string                         // a tensors map's sorted keys
	cache *[summaryCacheSize]cachedSummary // nil: no caching (a one-off MarshalJSON)
}

// summaryCacheSize is the number of summaries whose escaped JSON an
// encoder keeps (direct-mapped): the dozen or so a layer has in flight
// rarely collide (64 slots lost ~8% on BenchmarkJSONWriterStep).
const summaryCacheSize = 256

type cachedSummary struct {
	s   stats.Summary
	ok  bool
	esc []byte
}

// appendEvent appends the JSON of ev (what Event.MarshalJSON returns) to
// b.
func (e *encoder) appendEvent(b []byte, ev Event) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, ev.ID, 10)
	b = append(b, `,"previousEventId":`...)
	b = strconv.AppendInt(b, ev.PreviousID, 10)
	b = append(b, `,"timestamp":"`...)
	b = appendTimestamp(b, ev.Time)
	b = append(b, `","type":`...)
	b = appendJSONString(b, string(ev.Type))
	switch ev.Type {
	case ExecutionStarted:
		b = append(b, `,"executionStartedEventDetails":{`...)
		if ev.Run != nil {
			run, merr := json.Marshal(ev.Run)
			if merr != nil {
				return nil, merr
			}
			b = appendMember(b, "input")
			b = appendJSONString(b, string(run))
		}
		b = append(b, '}')
	case TaskStateEntered, TaskStateExited:
		key, field := "stateEnteredEventDetails", "input"
		if ev.Type == TaskStateExited {
			key, field = "stateExitedEventDetails", "output"
		}
		b = appendMember(b, key)
		b = append(b, '{')
		if ev.State != "" {
			b = appendMember(b, "name")
			b = appendJSONString(b, string(ev.State))
		}
		b = e.appendPayload(b, field, ev.Payload)
		b = append(b, '}')
	case ExecutionSucceeded:
		b = append(b, `,"executionSucceededEventDetails":{`...)
		b = e.appendPayload(b, "output", ev.Payload)
		b = append(b, '}')
	case ExecutionFailed, ExecutionAborted:
		key := "executionFailedEventDetails"
		if ev.Type == ExecutionAborted {
			key = "executionAbortedEventDetails"
		}
		b = appendMember(b, key)
		b = append(b, `{"error":`...)
		b = appendJSONString(b, ev.Error)
		b = append(b, `,"cause":`...)
		b = appendJSONString(b, ev.Cause)
		if ev.Hint != "" {
			b = append(b, `,"hint":`...)
			b = appendJSONString(b, ev.Hint)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendPayload appends `"field":"<the payload's JSON, escaped>"` when ev
// has a payload.
func (e *encoder) appendPayload(b []byte, field string, p *Payload) []byte {
	if p == nil {
		return b
	}
	b = appendMember(b, field)
	b = append(b, '"')
	if p.plain() {
		b = e.appendPlainEscaped(b, p)
	} else {
		e.tmp = e.appendPayloadJSON(e.tmp[:0], p)
		b = appendEscaped(b, e.tmp)
	}
	return append(b, '"')
}

// plain reports whether p holds only what a state's statistics need
// (iteration, layer, parent, shape, duration, stats, tensors): the
// payloads that appendPlainEscaped writes.
func (p *Payload) plain() bool {
	return p.Values == nil && p.Text == "" && p.TokenIDs == nil && p.Pieces == nil && p.TopKLogits == nil &&
		p.Sampler == nil && p.TopKProbs == nil && p.SampledID == nil && p.SampledProb == 0 && p.SampledRank == 0 &&
		p.TokenID == nil && p.Piece == "" && p.TextAdded == "" && p.Kernel == nil && p.Profile == nil && p.Issues == nil
}

// appendPlainEscaped appends the JSON of a plain payload, escaped as
// inside a JSON string: the bytes of appendEscaped(p.MarshalJSON()).
func (e *encoder) appendPlainEscaped(b []byte, p *Payload) []byte {
	b = append(b, `{\"iteration\":`...)
	b = strconv.AppendInt(b, int64(p.Iteration), 10)
	b = append(b, `,\"layer\":`...)
	b = strconv.AppendInt(b, int64(p.Layer), 10)
	b = append(b, `,\"parent\":`...)
	b = strconv.AppendInt(b, p.Parent, 10)
	if len(p.Shape) > 0 {
		b = append(b, `,\"shape\":[`...)
		for i, d := range p.Shape {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(d), 10)
		}
		b = append(b, ']')
	}
	// encoding/json fails on a non-finite float; MarshalJSON then writes
	// the payload with it set to 0, which omitempty leaves out.
	if d := p.DurationUS; d != 0 && !math.IsNaN(d) && !math.IsInf(d, 0) {
		b = append(b, `,\"duration_us\":`...)
		b = appendJSONFloat(b, d)
	}
	if p.Stats != nil {
		b = append(b, `,\"stats\":`...)
		b = e.appendSummaryEscaped(b, p.Stats)
	}
	if len(p.Tensors) > 0 {
		b = append(b, `,\"tensors\":{`...)
		e.keys = e.keys[:0]
		for k := range p.Tensors {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
		for i, k := range e.keys {
			if i > 0 {
				b = append(b, ',')
			}
			e.tmp = appendJSONString(e.tmp[:0], k)
			b = appendEscaped(b, e.tmp)
			b = append(b, ':')
			if s := p.Tensors[k]; s != nil {
				b = e.appendSummaryEscaped(b, s)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendSummaryEscaped appends s.AppendEscapedJSON's bytes, from the cache
// when s was written recently.
func (e *encoder) appendSummaryEscaped(b []byte, s *stats.Summary) []byte {
	if e.cache == nil {
		return s.AppendEscapedJSON(b)
	}
	h := uint64(s.N) ^ math.Float64bits(s.Mean) ^ math.Float64bits(s.Std)*31 ^ math.Float64bits(s.Min)*131
	c := &e.cache[(h^h>>29^h>>47)%summaryCacheSize]
	// A summary with a NaN field never equals itself: it is written
	// afresh every time, as it should be.
	if c.ok && c.s == *s {
		return append(b, c.esc...)
	}
	c.esc = s.AppendEscapedJSON(c.esc[:0])
	c.s, c.ok = *s, true
	return append(b, c.esc...)
}

// appendJSONFloat appends f (finite) as encoding/json writes a float64:
// the shortest representation, in exponent form below 1e-6 and from 1e21
// on, with a one-digit negative exponent written without its leading zero.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// safeASCII marks the ASCII bytes appendJSONString copies unescaped.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendEscaped appends the inside of the JSON string of src: the bytes
// appendJSONString(b, string(src)) writes between its quotes, without
// copying src into a string (a payload is kilobytes; src is not changed
// while the view is read).
func appendEscaped(b, src []byte) []byte {
	if len(src) == 0 {
		return b
	}
	return appendStringInside(b, unsafe.String(unsafe.SliceData(src), len(src)))
}

// appendTimestamp appends t in timeLayout (RFC 3339, UTC, milliseconds),
// by hand for the years of four digits (time's layout interpreter costs
// as much as the rest of a small event).
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, timeLayout)
	}
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	d2 := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = d2(b, year/100)
	b = d2(b, year%100)
	b = append(b, '-')
	b = d2(b, int(month))
	b = append(b, '-')
	b = d2(b, day)
	b = append(b, 'T')
	b = d2(b, hour)
	b = append(b, ':')
	b = d2(b, min)
	b = append(b, ':')
	b = d2(b, sec)
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// appendPayloadJSON appends the bytes of p.MarshalJSON() (the payload as
// encoding/json writes it, non-finite scalars as 0, stats and tensors
// appended last), written by hand: LM_HEAD, SAMPLE, DECODE and
// BRICK_PROFILE write one such payload per token.
func (e *encoder) appendPayloadJSON(b []byte, p *Payload) []byte {
	// encoding/json refuses a non-finite float; MarshalJSON then writes
	// the sanitized payload: those floats as 0, and a profile's slices
	// copied (so never null).
	san := !p.finiteScalars()
	fl := func(f float64) float64 {
		if san {
			return finiteOr0(f)
		}
		return f
	}
	b = append(b, `{"iteration":`...)
	b = strconv.AppendInt(b, int64(p.Iteration), 10)
	b = append(b, `,"layer":`...)
	b = strconv.AppendInt(b, int64(p.Layer), 10)
	b = append(b, `,"parent":`...)
	b = strconv.AppendInt(b, p.Parent, 10)
	if len(p.Shape) > 0 {
		b = append(b, `,"shape":`...)
		b = appendInts(b, p.Shape)
	}
	if d := fl(p.DurationUS); d != 0 {
		b = append(b, `,"duration_us":`...)
		b = appendJSONFloat(b, d)
	}
	if p.Text != "" {
		b = append(b, `,"text":`...)
		b = appendJSONString(b, p.Text)
	}
	if len(p.TokenIDs) > 0 {
		b = append(b, `,"token_ids":`...)
		b = appendInts(b, p.TokenIDs)
	}
	if len(p.Pieces) > 0 {
		b = append(b, `,"pieces":[`...)
		for i, s := range p.Pieces {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	if len(p.TopKLogits) > 0 {
		b = append(b, `,"top_k_logits":`...)
		b = appendTokenScores(b, p.TopKLogits)
	}
	if s := p.Sampler; s != nil {
		b = append(b, `,"sampler":{"temperature":`...)
		b = appendJSONFloat(b, fl(s.Temperature))
		b = append(b, `,"top_k":`...)
		b = strconv.AppendInt(b, int64(s.TopK), 10)
		b = append(b, `,"top_p":`...)
		b = appendJSONFloat(b, fl(s.TopP))
		b = append(b, `,"min_p":`...)
		b = appendJSONFloat(b, fl(s.MinP))
		b = append(b, `,"repeat_penalty":`...)
		b = appendJSONFloat(b, fl(s.RepeatPenalty))
		if s.RepeatLastN != 0 {
			b = append(b, `,"repeat_last_n":`...)
			b = strconv.AppendInt(b, int64(s.RepeatLastN), 10)
		}
		b = append(b, `,"seed":`...)
		b = strconv.AppendUint(b, s.Seed, 10)
		b = append(b, '}')
	}
	if len(p.TopKProbs) > 0 {
		b = append(b, `,"top_k_probs":`...)
		b = appendTokenScores(b, p.TopKProbs)
	}
	if p.SampledID != nil {
		b = append(b, `,"sampled_id":`...)
		b = strconv.AppendInt(b, int64(*p.SampledID), 10)
	}
	if f := fl(p.SampledProb); f != 0 {
		b = append(b, `,"sampled_prob":`...)
		b = appendJSONFloat(b, f)
	}
	if p.SampledRank != 0 {
		b = append(b, `,"sampled_rank":`...)
		b = strconv.AppendInt(b, int64(p.SampledRank), 10)
	}
	if p.TokenID != nil {
		b = append(b, `,"token_id":`...)
		b = strconv.AppendInt(b, int64(*p.TokenID), 10)
	}
	if p.Piece != "" {
		b = append(b, `,"piece":`...)
		b = appendJSONString(b, p.Piece)
	}
	if p.TextAdded != "" {
		b = append(b, `,"text_added":`...)
		b = appendJSONString(b, p.TextAdded)
	}
	if k := p.Kernel; k != nil {
		b = append(b, `,"kernel":{"name":`...)
		b = appendJSONString(b, k.Name)
		if k.Weight != "" {
			b = append(b, `,"weight":`...)
			b = appendJSONString(b, k.Weight)
		}
		for _, f := range [...]struct {
			key string
			v   int64
		}{{`,"rows":`, int64(k.Rows)}, {`,"cols":`, int64(k.Cols)}, {`,"batch":`, int64(k.Batch)}, {`,"workers":`, int64(k.Workers)},
			{`,"rows_per_worker":`, int64(k.RowsPerWorker)}} {
			b = append(b, f.key...)
			b = strconv.AppendInt(b, f.v, 10)
		}
		b = append(b, `,"strategy":`...)
		b = appendJSONString(b, k.Strategy)
		b = append(b, `,"duration_us":`...)
		b = appendJSONFloat(b, fl(k.DurationUS))
		b = append(b, `,"flops":`...)
		b = strconv.AppendInt(b, k.FLOPs, 10)
		b = append(b, `,"bytes_read":`...)
		b = strconv.AppendInt(b, k.BytesRead, 10)
		b = append(b, '}')
	}
	if p.Profile != nil {
		b = append(b, `,"profile":`...)
		b = appendProfile(b, p.Profile, san)
	}
	if len(p.Issues) > 0 {
		b = append(b, `,"issues":[`...)
		for i, is := range p.Issues {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"severity":`...)
			b = appendJSONString(b, string(is.Severity))
			b = append(b, `,"code":`...)
			b = appendJSONString(b, is.Code)
			if is.Op != "" {
				b = append(b, `,"op":`...)
				b = appendJSONString(b, is.Op)
			}
			b = append(b, `,"message":`...)
			b = appendJSONString(b, is.Message)
			if is.Hint != "" {
				b = append(b, `,"hint":`...)
				b = appendJSONString(b, is.Hint)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	// payloadJSON's own Values field comes after the embedded ones.
	if len(p.Values) > 0 {
		b = append(b, `,"values":{`...)
		e.keys = e.keys[:0]
		for k := range p.Values {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
		for i, k := range e.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = floats(p.Values[k]).appendJSON(b)
		}
		b = append(b, '}')
	}
	if p.Stats != nil {
		b = append(b, `,"stats":`...)
		b = p.Stats.AppendJSON(b)
	}
	if len(p.Tensors) > 0 {
		b = append(b, `,"tensors":{`...)
		e.keys = e.keys[:0]
		for k := range p.Tensors {
			e.keys = append(e.keys, k)
		}
		slices.Sort(e.keys)
		for i, k := range e.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if s := p.Tensors[k]; s != nil {
				b = s.AppendJSON(b)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// finiteScalars reports whether every float that encoding/json writes of
// p (not the statistics, values and scores, which have their own
// encoders) is finite.
func (p *Payload) finiteScalars() bool {
	fin := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if !fin(p.DurationUS) || !fin(p.SampledProb) {
		return false
	}
	if s := p.Sampler; s != nil && !(fin(s.Temperature) && fin(s.TopP) && fin(s.MinP) && fin(s.RepeatPenalty)) {
		return false
	}
	if p.Kernel != nil && !fin(p.Kernel.DurationUS) {
		return false
	}
	for pr := p.Profile; pr != nil; pr = pr.Total {
		if !fin(pr.Coverage) {
			return false
		}
		for _, b := range pr.Bricks {
			if !fin(b.GFLOPS) || !fin(b.GBps) {
				return false
			}
		}
		for _, c := range pr.Categories {
			if !fin(c.Share) {
				return false
			}
		}
	}
	return true
}

// appendProfile appends pr as encoding/json writes it; san: as
// sanitizeProfile leaves it (non-finite floats 0, slices never null).
func appendProfile(b []byte, pr *Profile, san bool) []byte {
	fl := func(f float64) float64 {
		if san {
			return finiteOr0(f)
		}
		return f
	}
	b = append(b, `{"bricks":`...)
	if pr.Bricks == nil && !san {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, br := range pr.Bricks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendJSONString(b, br.Name)
			b = append(b, `,"total_ns":`...)
			b = strconv.AppendInt(b, br.TotalNS, 10)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(br.Count), 10)
			b = append(b, `,"flops":`...)
			b = strconv.AppendInt(b, br.FLOPs, 10)
			b = append(b, `,"bytes":`...)
			b = strconv.AppendInt(b, br.Bytes, 10)
			b = append(b, `,"gflops":`...)
			b = appendJSONFloat(b, fl(br.GFLOPS))
			b = append(b, `,"gbps":`...)
			b = appendJSONFloat(b, fl(br.GBps))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"categories":`...)
	if pr.Categories == nil && !san {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range pr.Categories {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendJSONString(b, c.Name)
			b = append(b, `,"total_ns":`...)
			b = strconv.AppendInt(b, c.TotalNS, 10)
			b = append(b, `,"share":`...)
			b = appendJSONFloat(b, fl(c.Share))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"wall_ns":`...)
	b = strconv.AppendInt(b, pr.WallNS, 10)
	b = append(b, `,"measured_ns":`...)
	b = strconv.AppendInt(b, pr.MeasuredNS, 10)
	b = append(b, `,"coverage":`...)
	b = appendJSONFloat(b, fl(pr.Coverage))
	if pr.Total != nil {
		b = append(b, `,"total":`...)
		b = appendProfile(b, pr.Total, san)
	}
	return append(b, '}')
}

// appendInts appends xs as a JSON array.
func appendInts(b []byte, xs []int) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return append(b, ']')
}

// appendTokenScores appends ts as TokenScore.MarshalJSON writes each.
func appendTokenScores(b []byte, ts []TokenScore) []byte {
	b = append(b, '[')
	for i, t := range ts {
		if i > 0 {
			b = append(b, ',')
		}
		b = t.appendJSON(b)
	}
	return append(b, ']')
}

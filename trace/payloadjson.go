package trace

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/infertrace/infertrace/stats"
)

// floats is a []float32 whose non-finite values are written as null (and
// read back as NaN), since JSON has no NaN or Inf.
type floats []float32

// MarshalJSON writes the values, non-finite ones as null.
func (fs floats) MarshalJSON() ([]byte, error) {
	return fs.appendJSON(make([]byte, 0, 2+len(fs)*10)), nil
}

// appendJSON appends what MarshalJSON writes.
func (fs floats) appendJSON(b []byte) []byte {
	if fs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, f, 'g', -1, 32)
		}
	}
	return append(b, ']')
}

// UnmarshalJSON reads numbers and nulls (as NaN).
func (fs *floats) UnmarshalJSON(b []byte) error {
	var ps []*float32
	if err := json.Unmarshal(b, &ps); err != nil {
		return err
	}
	if ps == nil {
		*fs = nil
		return nil
	}
	out := make([]float32, len(ps))
	for i, p := range ps {
		if p == nil {
			out[i] = float32(math.NaN())
		} else {
			out[i] = *p
		}
	}
	*fs = out
	return nil
}

// appendFloat appends f as a JSON number, or null when it is not finite.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func nanIfNil(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// payloadAlias has Payload's fields without its methods.
type payloadAlias Payload

// payloadJSON shadows the fields that need NaN-safe encoding.
type payloadJSON struct {
	*payloadAlias
	Values map[string]floats `json:"values,omitempty"`
}

// MarshalJSON writes the payload; non-finite tensor values become null and
// other non-finite scalars (a duration, a probability) are written as 0
// rather than failing the whole event. The statistics, the bulk of a
// traced run, are appended by hand after the other members (encoding/json
// would re-scan each summary's output).
func (p Payload) MarshalJSON() ([]byte, error) {
	sum, tensors := p.Stats, p.Tensors
	p.Stats, p.Tensors = nil, nil
	b, err := json.Marshal(p.wire())
	var uve *json.UnsupportedValueError
	if errors.As(err, &uve) {
		q := p.sanitized()
		b, err = json.Marshal(q.wire())
	}
	if err != nil || (sum == nil && len(tensors) == 0) {
		return b, err
	}
	b = b[:len(b)-1] // reopen the object
	if sum != nil {
		b = appendMember(b, "stats")
		b = sum.AppendJSON(b)
	}
	if len(tensors) > 0 {
		b = appendMember(b, "tensors")
		keys := make([]string, 0, len(tensors))
		for k := range tensors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if s := tensors[k]; s != nil {
				b = s.AppendJSON(b)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendMember appends `"key":` to an object being written, after a comma
// unless it is the object's first member.
func appendMember(b []byte, key string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = appendJSONString(b, key)
	return append(b, ':')
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it (quotes, backslashes, control characters, <, > and &, U+2028
// and U+2029; invalid UTF-8 through encoding/json itself).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendStringInside(b, s)
	return append(b, '"')
}

// appendStringInside appends what appendJSONString writes between the
// quotes.
func appendStringInside(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		q, _ := json.Marshal(s)
		return append(b, q[1:len(q)-1]...)
	}
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			start = i + size
		}
		i += size
	}
	return append(b, s[start:]...)
}

func (p *Payload) wire() payloadJSON {
	j := payloadJSON{payloadAlias: (*payloadAlias)(p)}
	if p.Values != nil {
		j.Values = make(map[string]floats, len(p.Values))
		for k, v := range p.Values {
			j.Values[k] = v
		}
	}
	return j
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (p *Payload) UnmarshalJSON(b []byte) error {
	var j payloadJSON
	j.payloadAlias = (*payloadAlias)(p)
	*p = Payload{}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	for k, s := range p.Tensors {
		if s == nil {
			// null reads as a summary of no finite values, as the
			// summary's own UnmarshalJSON reads it: no nil entries.
			s = new(stats.Summary)
			if err := s.UnmarshalJSON([]byte("null")); err != nil {
				return err
			}
			p.Tensors[k] = s
		}
	}
	if j.Values != nil {
		p.Values = make(map[string][]float32, len(j.Values))
		for k, v := range j.Values {
			p.Values[k] = v
		}
	}
	return nil
}

func finiteOr0(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// sanitized returns a copy of p with every non-finite scalar set to 0.
func (p Payload) sanitized() Payload {
	p.DurationUS = finiteOr0(p.DurationUS)
	p.SampledProb = finiteOr0(p.SampledProb)
	if p.Sampler != nil {
		s := *p.Sampler
		s.Temperature, s.TopP, s.MinP, s.RepeatPenalty = finiteOr0(s.Temperature), finiteOr0(s.TopP), finiteOr0(s.MinP), finiteOr0(s.RepeatPenalty)
		p.Sampler = &s
	}
	if p.Kernel != nil {
		k := *p.Kernel
		k.DurationUS = finiteOr0(k.DurationUS)
		p.Kernel = &k
	}
	if p.Profile != nil {
		pr := sanitizeProfile(*p.Profile)
		p.Profile = &pr
	}
	return p
}

func sanitizeProfile(pr Profile) Profile {
	pr.Coverage = finiteOr0(pr.Coverage)
	bricks := make([]BrickStat, len(pr.Bricks))
	for i, b := range pr.Bricks {
		b.GFLOPS, b.GBps = finiteOr0(b.GFLOPS), finiteOr0(b.GBps)
		bricks[i] = b
	}
	pr.Bricks = bricks
	cats := make([]CategoryStat, len(pr.Categories))
	for i, c := range pr.Categories {
		c.Share = finiteOr0(c.Share)
		cats[i] = c
	}
	pr.Categories = cats
	if pr.Total != nil {
		t := sanitizeProfile(*pr.Total)
		pr.Total = &t
	}
	return pr
}

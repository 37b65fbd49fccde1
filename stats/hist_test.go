package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// h16 builds a Hist from bin:count pairs.
func h16(pairs ...int) Hist {
	var h Hist
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = int32(pairs[i+1])
	}
	return h
}

// TestHistHand checks the bins against hand-made inputs: over [0, 16]
// every bin is one unit wide, so value v lands in bin floor(v) and 16 (the
// maximum) in the last bin.
func TestHistHand(t *testing.T) {
	ramp := make([]float32, 17) // 0..16
	for i := range ramp {
		ramp[i] = float32(i)
	}
	tests := []struct {
		name string
		xs   []float32
		want Hist
	}{
		{"ramp", ramp, h16(0, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 6, 1, 7, 1, 8, 1, 9, 1, 10, 1, 11, 1, 12, 1, 13, 1, 14, 1, 15, 2)},
		{"edges", []float32{0, 0.999, 1, 7.5, 15.999, 16}, h16(0, 2, 1, 1, 7, 1, 15, 2)},
		{"negative", []float32{-8, -0.5, 0, 8}, h16(0, 1, 7, 1, 8, 1, 15, 1)},
		{"all equal", []float32{3, 3, 3}, h16(0, 3)},
		{"one value", []float32{-2}, h16(0, 1)},
		{"tail after four", []float32{0, 16, 16, 16, 8}, h16(0, 1, 8, 1, 15, 3)},
		{"nan inf present", []float32{nan32, 0, inf32, 16, -inf32, 4}, h16(0, 1, 4, 1, 15, 1)},
		{"only nan", []float32{nan32, inf32}, Hist{}},
		{"empty", nil, Hist{}},
	}
	for _, tc := range tests {
		got := Compute(tc.xs).Hist
		if got != tc.want {
			t.Errorf("%s: Hist(%v) = %v, want %v", tc.name, tc.xs, got, tc.want)
		}
		if tc.name != "only nan" && tc.name != "empty" {
			if got := computeAny(tc.xs).Hist; got != tc.want {
				t.Errorf("%s: computeAny Hist = %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// TestHistProperty: both paths bin every finite value once, in the bin
// its position in [Min, Max] names, and agree with each other.
func TestHistProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		xs := rapid.SliceOfN(genValue(), 0, 200).Draw(t, "xs")
		s := Compute(xs)
		finite := s.N - s.NaN - s.Inf
		if s.Hist.Total() != finite {
			t.Fatalf("hist total %d, want %d finite values: %v", s.Hist.Total(), finite, s.Hist)
		}
		if finite > 0 {
			var want Hist
			for _, v := range xs {
				f := float64(v)
				if math.IsNaN(f) || math.IsInf(f, 0) {
					continue
				}
				b := 0
				if s.Max > s.Min {
					b = min(int(math.Floor((f-s.Min)/(s.Max-s.Min)*HistBins)), HistBins-1)
				}
				want[b]++
			}
			// The product form may round a value on an inner edge into
			// the bin below: allow a count to move by one neighbour only.
			for i := range want {
				if d := want[i] - s.Hist[i]; d > 1 || d < -1 {
					t.Fatalf("bins %v, want %v", s.Hist, want)
				}
			}
		}
		if a := computeAny(xs).Hist; a != s.Hist {
			t.Fatalf("computeAny bins %v, Compute %v", a, s.Hist)
		}
	})
}

func TestHistJSON(t *testing.T) {
	s := Compute([]float32{0, 1, 16, nan32})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := `,"hist":[1,1,0,0,0,0,0,0,0,0,0,0,0,0,0,1]}`; !strings.HasSuffix(string(b), want) {
		t.Errorf("Marshal = %s, want it to end %s", b, want)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil || back.Hist != s.Hist {
		t.Errorf("read back hist %v (%v), want %v", back.Hist, err, s.Hist)
	}
	if b, _ := json.Marshal(Compute([]float32{nan32})); strings.Contains(string(b), "hist") {
		t.Errorf("an empty hist is written: %s", b)
	}
	zeros := `[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]`
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"n":3}`, true}, // older traces: no hist
		{`{"n":3,"hist":null}`, true},
		{`{"n":3,"hist":` + zeros + `}`, true},
		{`{"n":3,"hist":[ 1 , 2,0,0,0,0,0,0,0,0,0,0,0,0,0, 2147483647 ]}`, true},
		{`{"n":3,"hist":[]}`, false},
		{`{"n":3,"hist":[1,2,3]}`, false},
		{`{"n":3,"hist":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, false},
		{`{"n":3,"hist":[-1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, false},
		{`{"n":3,"hist":[1.5,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, false},
		{`{"n":3,"hist":[2147483648,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, false},
		{`{"n":3,"hist":[01,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}`, false},
		{`{"n":3,"hist":"x"}`, false},
	} {
		var s Summary
		if err := json.Unmarshal([]byte(tc.in), &s); (err == nil) != tc.ok {
			t.Errorf("Unmarshal(%s) error %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// TestComputeAllocs: the bins cost no allocation.
func TestComputeAllocs(t *testing.T) {
	xs := []float32{1, 2, 3, 4, 5, nan32}
	for _, in := range [][]float32{xs[:5], xs} {
		if n := testing.AllocsPerRun(100, func() { Compute(in) }); n != 0 {
			t.Errorf("Compute(%v): %v allocations", in, n)
		}
	}
}

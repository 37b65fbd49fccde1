package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/infertrace/infertrace/fixtures"
	"github.com/infertrace/infertrace/loader"
)

// The binary is built once per test process: every hostile case runs it.
var (
	binOnce sync.Once
	binPath string
	binErr  string
)

// sharedBinary builds infertrace once for all tests of the package.
func sharedBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "infertrace-e2e-")
		if err != nil {
			binErr = err.Error()
			return
		}
		bin := filepath.Join(dir, "infertrace")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = "go build: " + err.Error() + "\n" + string(out)
			return
		}
		binPath = bin
	})
	if binErr != "" {
		t.Fatal(binErr)
	}
	return binPath
}

// moduleRoot is the module's directory (the parent of e2e/).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// TestMain removes the shared binary's directory after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// result is what one run of the binary left behind.
type result struct {
	code           int
	stdout, stderr string
	maxRSS         int64 // bytes
}

// runBinary runs the binary with args, stdin closed, and returns its exit
// code, output and peak resident memory.
func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	// A hostile input that hangs the binary must fail its test, not stall
	// the suite until go test's own timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sharedBinary(t), args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after 2 minutes (killed)", args)
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%v: %v", args, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	return r
}

// maxHostileRSS bounds the peak resident memory of the binary given a
// hostile file of at most a few hundred kilobytes: the Go runtime and the
// binary take ~20 MB; a parser that trusted a count or length would need
// far more (or die: the runtime's out-of-memory crash is multi-line).
const maxHostileRSS = 160 << 20

// checkOneLine asserts a one-line error naming want (the file, usually),
// the exit code and bounded memory. The Go runtime's own crashes also
// exit 2, so the single "infertrace: " line is what tells a handled error
// from a panic or a fatal error.
func checkOneLine(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstderr: %s", r.code, code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "infertrace: ") || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line starting with \"infertrace: \":\n%s", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
	for _, bad := range []string{"panic", "goroutine ", "fatal error", "internal error"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("stderr mentions %q: %s", bad, r.stderr)
		}
	}
	if r.maxRSS > maxHostileRSS {
		t.Errorf("peak RSS %d MB, want at most %d MB", r.maxRSS>>20, maxHostileRSS>>20)
	}
}

// tensorInfo returns the byte position, in a GGUF file, of the tensor
// info of name: its n_dims field (followed by the dims, the type id and
// the data offset).
func tensorInfo(t *testing.T, b []byte, name string) int {
	t.Helper()
	key := binary.LittleEndian.AppendUint64(nil, uint64(len(name)))
	key = append(key, name...)
	// Metadata holds tensor names only inside strings arrays of other
	// lengths; the last match is the tensor info section.
	i := bytes.LastIndex(b, key)
	if i < 0 {
		t.Fatalf("tensor %q not found", name)
	}
	return i + len(key)
}

// metaValue returns the byte position of the value type of the metadata
// key (followed by the value).
func metaValue(t *testing.T, b []byte, key string) int {
	t.Helper()
	k := binary.LittleEndian.AppendUint64(nil, uint64(len(key)))
	k = append(k, key...)
	i := bytes.Index(b, k)
	if i < 0 {
		t.Fatalf("metadata key %q not found", key)
	}
	return i + len(k)
}

// patched returns a copy of b with f applied.
func patched(b []byte, f func(c []byte) []byte) []byte { return f(bytes.Clone(b)) }

func put64(c []byte, at int, v uint64) []byte { binary.LittleEndian.PutUint64(c[at:], v); return c }
func put32(c []byte, at int, v uint32) []byte { binary.LittleEndian.PutUint32(c[at:], v); return c }

// deepNesting is a GGUF v3 file with one metadata array nested depth
// levels deep.
func deepNesting(depth int) []byte {
	le := binary.LittleEndian
	b := []byte("GGUF")
	b = le.AppendUint32(b, 3)
	b = le.AppendUint64(b, 0) // tensors
	b = le.AppendUint64(b, 1) // metadata pairs
	b = le.AppendUint64(b, 1)
	b = append(b, 'a')
	b = le.AppendUint32(b, 9) // array
	for range depth {
		b = le.AppendUint32(b, 9)
		b = le.AppendUint64(b, 1)
	}
	b = le.AppendUint32(b, 0) // uint8
	return le.AppendUint64(b, 0)
}

// safetensors lays out a safetensors file: 8-byte header length, header,
// data.
func safetensors(header string, data int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, data)...)
}

// TestHostileModelCLI runs inspect and run on malformed model files: each
// must print one line naming the file and the problem, exit 2, and stay
// within bounded memory.
func TestHostileModelCLI(t *testing.T) {
	demo := fixtures.Demo()
	ffnUp := tensorInfo(t, demo, "blk.0.ffn_up.weight")
	ffnGate := tensorInfo(t, demo, "blk.0.ffn_gate.weight")
	outNorm := tensorInfo(t, demo, "output_norm.weight")
	// Section boundaries: the 24-byte header, the end of the metadata (the
	// first tensor info's name length) and the start of the data.
	firstInfo := tensorInfo(t, demo, "token_embd.weight") - 8 - len("token_embd.weight")
	lf, err := loader.FromBytes("demo.gguf", demo)
	if err != nil {
		t.Fatal(err)
	}
	dataStart := int(lf.DataOffset)

	dir := t.TempDir()
	var peak int64
	defer func() { t.Logf("peak RSS of the binary over all cases: %.1f MB", float64(peak)/(1<<20)) }()
	cases := []struct {
		name string
		b    []byte
		want string // a fragment of the one-line error
		// runOnly: the file parses; only building the model (run) fails.
		runOnly bool
	}{
		{"wrong magic", patched(demo, func(c []byte) []byte { copy(c, "GGML"); return c }), `not a GGUF or safetensors file`, false},
		{"version 1", patched(demo, func(c []byte) []byte { return put32(c, 4, 1) }), "GGUF version 1 is not supported", false},
		{"version 99", patched(demo, func(c []byte) []byte { return put32(c, 4, 99) }), "unsupported GGUF version 99", false},
		{"cut in the magic", demo[:3], `not a GGUF or safetensors file (starts with "GGU", 3 bytes)`, false},
		{"cut after the version", demo[:8], "while reading tensor count", false},
		{"cut after the header", demo[:24], "tensor count is", false},
		{"cut at the end of the metadata", demo[:firstInfo], fmt.Sprintf("file ends at byte %d while reading tensor name length", firstInfo), false},
		{"cut at the data section", demo[:dataStart], "lies past the end of the file", false},
		{"cut before the last byte", demo[:len(demo)-1], "lies past the end of the file", false},
		{"tensor count 2^63", patched(demo, func(c []byte) []byte { return put64(c, 8, 1<<63) }), "tensor count is 9223372036854775808", false},
		{"metadata count larger than the file", patched(demo, func(c []byte) []byte { return put64(c, 16, uint64(len(demo))) }), "metadata key/value count is", false},
		{"string length past the end", patched(demo, func(c []byte) []byte { return put64(c, 24, 1<<40) }), "has length 1099511627776, past the end of the file", false},
		{"nested array depth 10000", deepNesting(10000), "arrays nested more than", false},
		{"tensor offset past the end", patched(demo, func(c []byte) []byte { return put64(c, outNorm+4+8+4, 1<<30) }),
			`tensor "output_norm.weight" data [offset`, false},
		{"dims product overflows", patched(demo, func(c []byte) []byte {
			put64(c, ffnUp+4, 1<<32)
			return put64(c, ffnUp+12, 1<<32)
		}), `tensor "blk.0.ffn_up.weight" dims [4294967296 4294967296]: the element count overflows 64 bits`, false},
		{"unknown type id", patched(demo, func(c []byte) []byte { return put32(c, ffnUp+4+16, 77) }), `tensor "blk.0.ffn_up.weight" has unknown type id 77`, false},
		{"duplicate tensor name", patched(demo, func(c []byte) []byte { c[ffnUp-len("0.ffn_up.weight")] = '1'; return c }),
			`duplicate tensor name "blk.1.ffn_up.weight"`, false},
		{"block_count a billion", patched(demo, func(c []byte) []byte {
			return put32(c, metaValue(t, c, "llama.block_count")+4, 1e9)
		}), "missing tensor blk.4.attn_norm.weight", true},
		{"missing required tensor", patched(demo, func(c []byte) []byte { c[ffnUp-1] = 'x'; return c }), "missing tensor blk.0.ffn_up.weight", true},
		{"wrong-shape tensor", patched(demo, func(c []byte) []byte {
			put64(c, ffnGate+4, 192)
			return put64(c, ffnGate+12, 64)
		}), "tensor blk.0.ffn_gate.weight has shape [192 64], want [64 192]", true},
		{"safetensors header length larger than the file", safetensors("{}", 0)[:8], "safetensors header length 2 is larger than the file (8 bytes)", false},
		{"safetensors header length 2^62", patched(safetensors(`{"a":1}`, 0), func(c []byte) []byte { return put64(c, 0, 1<<62) }),
			"safetensors header length 4611686018427387904 is larger than the file", false},
		{"safetensors header not JSON", safetensors("{nope!!}", 0), "safetensors header is not a JSON object", false},
		{"safetensors overlapping data_offsets", safetensors(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[8],"data_offsets":[8,24]}}`, 24),
			`tensor "b" data_offsets [8, 24] overlap tensor "a" [0, 16]`, false},
		{"safetensors unknown dtype", safetensors(`{"w":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}`, 8), `tensor "w" has dtype I8`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ext := ".gguf"
			if strings.HasPrefix(c.name, "safetensors") {
				ext = ".safetensors"
			}
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+ext)
			if err := os.WriteFile(p, c.b, 0o644); err != nil {
				t.Fatal(err)
			}
			r := runBinary(t, "run", "-m", p, "-n", "1", "--temp", "0")
			peak = max(peak, r.maxRSS)
			checkOneLine(t, r, 2, "infertrace: "+p+": ", c.want)
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
			r = runBinary(t, "inspect", p)
			peak = max(peak, r.maxRSS)
			if c.runOnly {
				if r.code != 0 {
					t.Errorf("inspect: exit %d, want 0 (the file itself is well-formed)\n%s", r.code, r.stderr)
				}
				return
			}
			checkOneLine(t, r, 2, "infertrace: "+p+": ", c.want)
		})
	}
}

// TestBadUsageCLI: an unknown flag, a missing file and a directory that is
// not a model each give one line and exit 2.
func TestBadUsageCLI(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.gguf")
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"run", "--no-such-flag"}, []string{"unknown flag: --no-such-flag"}},
		{"unknown root flag", []string{"--bogus"}, []string{"unknown flag: --bogus"}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"missing model", []string{"run", "-m", missing}, []string{missing, "no such file"}},
		{"missing model (inspect)", []string{"inspect", missing}, []string{missing, "no such file"}},
		{"directory not a model", []string{"run", "-m", dir}, []string{dir, "neither model.safetensors nor model.safetensors.index.json"}},
		{"directory not a model (inspect)", []string{"inspect", dir}, []string{dir, "neither model.safetensors"}},
		{"missing trace", []string{"validate", missing}, []string{missing, "no such file"}},
		{"missing trace (replay)", []string{"replay", "--print", missing}, []string{missing, "no such file"}},
		{"directory as trace", []string{"validate", dir}, []string{dir}},
		{"directory as trace (replay)", []string{"replay", "--print", dir}, []string{dir}},
		{"bad --trace", []string{"run", "--trace=ffn,warp", "-n", "1"}, []string{"--trace", "warp"}},
		{"bad --inject", []string{"run", "--inject", "nan@nowhere", "-n", "1"}, []string{"--inject", "nowhere"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkOneLine(t, runBinary(t, c.args...), 2, c.want...)
		})
	}
}

// TestHugeTokenCount: -n far beyond any context (1e11 tokens) runs until
// the context is full, in bounded memory, instead of sizing buffers by -n
// (it crashed the process out of memory).
func TestHugeTokenCount(t *testing.T) {
	r := runBinary(t, "run", "-n", "100000000000", "--temp", "0")
	if r.code != 0 || !strings.Contains(r.stderr, "the context of 256 tokens is full") {
		t.Errorf("exit %d, stderr:\n%s", r.code, tail(r.stderr, 2000))
	}
	if r.maxRSS > maxHostileRSS {
		t.Errorf("peak RSS %d MB", r.maxRSS>>20)
	}
}

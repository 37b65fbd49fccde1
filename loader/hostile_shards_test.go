package loader

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostileShardIndex: an index naming 200,000 distinct shards is
// rejected quickly, naming the first missing shard. Deduplicating the
// shard names with a linear search made this quadratic (100,000 shards:
// 410 s); a set makes it well under a second, so 20 s cannot be reached
// by the linear-time code even on a loaded machine.
func TestHostileShardIndex(t *testing.T) {
	dir := t.TempDir()
	wm := make(map[string]string, 200000)
	for i := range 200000 {
		wm[fmt.Sprintf("t%d", i)] = fmt.Sprintf("s%06d.safetensors", i)
	}
	b, err := json.Marshal(map[string]any{"weight_map": wm})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "model.safetensors.index.json", b)
	start := time.Now()
	f, err := Open(dir)
	if err == nil {
		f.Close()
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Open took %v for a %d-byte index", d, len(b))
	}
	missing := filepath.Join(dir, "s000000.safetensors")
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), missing+": ") {
		t.Errorf("error %v, want the first missing shard %s", err, missing)
	}
}

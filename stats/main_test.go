package stats

import (
	"flag"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Tests may write only to t.TempDir(): keep rapid from saving
	// failure files under testdata.
	flag.Set("rapid.nofailfile", "true")
	os.Exit(m.Run())
}

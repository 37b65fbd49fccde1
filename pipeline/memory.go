package pipeline

import "fmt"

// checkSessionMemory refuses a session whose context-sized buffers (the
// float32 KV cache of every layer, dominating the rope tables and score
// rows) cannot fit in this machine's memory: a hostile context length
// with a large -n must give an error, not an out-of-memory crash.
func checkSessionMemory(p *Params, ctx int) error {
	total, ok := totalMemory()
	if !ok {
		return nil
	}
	kv := 2 * float64(p.NLayer) * float64(ctx) * float64(p.NHeadKV*p.HeadDim) * 4
	if kv > float64(total) {
		return fmt.Errorf("a KV cache of %d positions needs %.1f GiB, more than this machine's %.1f GiB of memory (lower -n)",
			ctx, kv/(1<<30), float64(total)/(1<<30))
	}
	return nil
}

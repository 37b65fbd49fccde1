//go:build race

package tokenizer

// raceEnabled: the race detector slows code ~10x, too much for timing tests.
const raceEnabled = true

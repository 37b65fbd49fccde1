//go:build !amd64

package membw

func methods() []method { return []method{{"scalar", sumScalar}} }

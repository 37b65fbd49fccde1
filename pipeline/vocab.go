package pipeline

import (
	"github.com/infertrace/infertrace/loader"
	"github.com/infertrace/infertrace/pipeline/tokenizer"
)

// tokVocab adapts the project tokenizer to Vocab.
type tokVocab struct{ t *tokenizer.Tokenizer }

// NewVocab wraps a tokenizer as the engine's Vocab.
func NewVocab(t *tokenizer.Tokenizer) Vocab { return tokVocab{t} }

// Encode tokenizes text with BOS/EOS as the vocabulary asks.
func (v tokVocab) Encode(text string, parseSpecial bool) ([]int, error) {
	return v.t.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: parseSpecial})
}

// Piece returns the stored text of id, "" outside the vocabulary.
func (v tokVocab) Piece(id int) string {
	if id < 0 || id >= v.t.VocabSize() {
		return ""
	}
	return v.t.Piece(id)
}

// IsEOG reports whether id ends generation.
func (v tokVocab) IsEOG(id int) bool { return id >= 0 && id < v.t.VocabSize() && v.t.IsEOG(id) }

// AddBOS reports whether Encode prepends BOS.
func (v tokVocab) AddBOS() bool { return v.t.AddBOS() }

// Size is the number of tokens.
func (v tokVocab) Size() int { return v.t.VocabSize() }

// NewDecoder returns a streaming detokenizer.
func (v tokVocab) NewDecoder() Decoder { return tokDecoder{v.t.NewStreamDecoder(), v.t.VocabSize()} }

type tokDecoder struct {
	d *tokenizer.StreamDecoder
	n int
}

// Add returns the text completed by id (ids outside the vocabulary add nothing).
func (d tokDecoder) Add(id int) string {
	if id < 0 || id >= d.n {
		return ""
	}
	return d.d.Add(id)
}

// Flush returns the pending bytes, an incomplete character as U+FFFD.
func (d tokDecoder) Flush() string { return d.d.Flush() }

// vocabOf builds the tokenizer of an opened model file: from the GGUF
// metadata, or from tokenizer.json beside a safetensors model.
func vocabOf(f *loader.File) (Vocab, error) {
	var (
		t   *tokenizer.Tokenizer
		err error
	)
	if f.Format == "safetensors" {
		t, err = tokenizer.FromHFDir(f.Dir)
	} else {
		t, err = tokenizer.FromMetadata(f.Meta)
	}
	if err != nil {
		return nil, err
	}
	return NewVocab(t), nil
}

// Load opens a model (GGUF file or safetensors directory) with its
// tokenizer. Close the model when done.
func Load(path string) (*Model, error) { return openFile(path, vocabOf) }

// LoadBytes binds a GGUF model held in memory (the built-in demo model).
func LoadBytes(name string, data []byte) (*Model, error) {
	f, err := loader.FromBytes(name, data)
	if err != nil {
		return nil, err
	}
	v, err := vocabOf(f)
	if err != nil {
		return nil, err
	}
	return FromFile(f, v)
}

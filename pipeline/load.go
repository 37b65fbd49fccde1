package pipeline

import (
	"fmt"

	"github.com/infertrace/infertrace/loader"
)

// ParamsFrom converts the loader's hyper-parameters.
func ParamsFrom(c loader.Config) Params {
	return Params{
		Arch: c.Arch, NEmbd: c.NEmbd, NLayer: c.NLayer, NHead: c.NHead, NHeadKV: c.NHeadKV,
		NFF: c.NFF, NVocab: c.NVocab, NCtx: c.NCtx, HeadDim: c.HeadDim, RopeDim: c.RopeDim,
		RopeFreqBase: c.RopeFreqBase, RopeNeox: c.RopeType == loader.RopeNeox, RMSEps: c.RMSEps,
	}
}

// FromFile binds an opened model file. The model does not own f: closing
// f invalidates the model.
func FromFile(f *loader.File, v Vocab) (*Model, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	m, err := NewModel(f.Path, ParamsFrom(c), f.Tensor, v)
	if err != nil {
		return nil, err
	}
	m.FileType = c.FileType
	if c.Name != "" {
		m.Name = c.Name
	}
	return m, nil
}

// openFile opens path and binds it, closing the file on failure.
func openFile(path string, v func(*loader.File) (Vocab, error)) (*Model, error) {
	f, err := loader.Open(path)
	if err != nil {
		return nil, err
	}
	var voc Vocab
	if v != nil {
		if voc, err = v(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err) // the tokenizer package prefixes its errors with "tokenizer:"
		}
	}
	m, err := FromFile(f, voc)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.closeFn = f.Close
	return m, nil
}

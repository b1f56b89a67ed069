package triage

import (
	"context"
	"sync"
)

// Lazy is a Triager that trains the offline classifier on its first use, so that starting
// a server (or a test) does not pay for training until a report arrives. With a model it
// answers through a ModelTriager over that classifier. It is safe for concurrent use.
type Lazy struct {
	model ChatModel
	opts  ModelOptions
	once  sync.Once
	t     Triager
	c     *Classifier
	err   error
}

var _ Triager = (*Lazy)(nil)

// NewLazy returns a Lazy triager; model may be nil for offline only.
func NewLazy(model ChatModel, opts ModelOptions) *Lazy {
	return &Lazy{model: model, opts: opts}
}

// Classifier returns the trained offline classifier, training it if needed.
func (l *Lazy) Classifier() (*Classifier, error) {
	l.init()
	return l.c, l.err
}

func (l *Lazy) init() {
	l.once.Do(func() {
		l.c, l.err = New()
		if l.err != nil {
			return
		}
		l.t = l.c
		if l.model != nil {
			l.t = NewModelTriager(l.model, l.c, l.opts)
		}
	})
}

// Triage implements Triager; it fails only if the embedded model cannot be trained.
func (l *Lazy) Triage(ctx context.Context, text string) (Result, error) {
	l.init()
	if l.err != nil {
		return Result{}, l.err
	}
	return l.t.Triage(ctx, text)
}

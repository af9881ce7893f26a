package ui

import (
	"context"

	"github.com/latchkey/latchkey/app/cancelctx"
	"github.com/latchkey/latchkey/app/flow"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// task is a page's running work as the page shows it (flow.Task: busy,
// progress, error), and the one place that knows how to run a flow for a
// component:
//
//   - go-app drops a Dispatch whose context belongs to an element that has
//     since left the page (the Switch User button, once the first login
//     stage shows), so work that outlives a click reports back through the
//     component's own context, kept here at mount;
//   - requests derive from a context that ends when the component
//     dismounts, so leaving a page cancels what it was waiting for.
//
// A page keeps one task, calls mount from OnMount (and OnNav, if it starts
// work there: either may come first) and dismount from OnDismount, and
// starts flows with start (busy, shown) or load (quiet).
type task struct {
	flow.Task

	ui     app.Context
	ctx    context.Context
	cancel context.CancelFunc
}

// mount keeps the component's context; a second call while mounted keeps
// the running work's context, so nothing started in between is cancelled.
func (t *task) mount(ctx app.Context) {
	t.ui = ctx
	if t.ctx == nil {
		t.ctx, t.cancel = cancelctx.WithCancel(ctx)
	}
}

func (t *task) dismount() {
	if t.cancel != nil {
		t.cancel()
	}
	t.ctx, t.cancel = nil, nil
}

// context is the page's: it ends when the page leaves the screen.
func (t *task) context() context.Context {
	if t.ctx == nil {
		return context.Background()
	}
	return t.ctx
}

// dispatch runs f on the UI goroutine, for the component while it is shown.
func (t *task) dispatch(f func(ctx app.Context)) { t.ui.Dispatch(f) }

// step reports a flow's progress on the page (and shows the task busy:
// an autofill login becomes visible only once a passkey is picked).
func (t *task) step(progress string) {
	t.dispatch(func(app.Context) { t.Busy, t.Progress = true, progress })
}

// start shows the task busy with progress and runs work off the UI
// goroutine, within flow.RequestTimeout. When work returns, the task is
// done, its error is work's, and then (if not nil) runs on the UI
// goroutine. It does nothing while the task is already busy.
func (t *task) start(progress string, work func(c context.Context) (then func(ctx app.Context), err error)) {
	if t.Busy {
		return
	}
	t.Busy, t.Progress, t.Err = true, progress, nil
	c, cancel := cancelctx.WithTimeout(t.context(), flow.RequestTimeout)
	t.ui.Async(func() {
		defer cancel()
		then, err := work(c)
		t.dispatch(func(ctx app.Context) {
			t.Busy, t.Err = false, err
			if then != nil {
				then(ctx)
			}
		})
	})
}

// load runs work off the UI goroutine, within flow.RequestTimeout, without
// showing the task busy; what work returns runs on the UI goroutine.
func (t *task) load(work func(c context.Context) func(ctx app.Context)) {
	c, cancel := cancelctx.WithTimeout(t.context(), flow.RequestTimeout)
	t.ui.Async(func() {
		defer cancel()
		if then := work(c); then != nil {
			t.dispatch(then)
		}
	})
}

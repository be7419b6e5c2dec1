package openaiserver

import (
	"context"
	"net/http"
	"sync/atomic"
)

// limiter admits at most cap(slots) running and maxWait waiting calls;
// beyond that it refuses at once, so overload turns into 429s rather than
// unbounded queues.
type limiter struct {
	slots    chan struct{}
	admitted atomic.Int64
	limit    int64
}

func newLimiter(running, waiting int) *limiter {
	return &limiter{slots: make(chan struct{}, running), limit: int64(running + waiting)}
}

func (l *limiter) acquire(ctx context.Context) *apiError {
	if l.admitted.Add(1) > l.limit {
		l.admitted.Add(-1)
		return newAPIError(http.StatusTooManyRequests, "rate_limit_error", "server_busy", "server is at capacity; retry later")
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		l.admitted.Add(-1)
		return modelError(ctx, ctx.Err())
	}
}

func (l *limiter) release() {
	<-l.slots
	l.admitted.Add(-1)
}

package fleet

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// errorHandler logs job failures River reports (fleet's workers log
// their own sync failures; this catches the rest, panics included).
type errorHandler struct{ f *Fleet }

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.f.log.DebugContext(ctx, "fleet: job failed", "kind", job.Kind, "id", job.ID, "attempt", job.Attempt, "error", err)
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.f.log.ErrorContext(ctx, "fleet: job panicked", "kind", job.Kind, "id", job.ID, "panic", fmt.Sprint(v), "stack", trace)
	return nil
}

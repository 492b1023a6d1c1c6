package admin

import (
	"net/http"
	httppprof "net/http/pprof"
	"runtime/pprof"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/openai"
)

// profile serves one of the Go runtime's profiles of this node, as
// net/http/pprof does under /debug/pprof/: "" the index, "profile" a CPU
// profile (?seconds=N, default 30), "trace" an execution trace, and any
// named profile (heap, goroutine, allocs, mutex, block, threadcreate).
// The command line is not served: flags may carry a database password.
func profile(w http.ResponseWriter, r *http.Request) {
	switch name := r.PathValue("name"); name {
	case "":
		httppprof.Index(w, r)
	case "profile":
		httppprof.Profile(w, r)
	case "trace":
		httppprof.Trace(w, r)
	default:
		if pprof.Lookup(name) == nil {
			openai.WriteError(w, clienterr.Errorf(clienterr.NotFound, "no profile %q", name))
			return
		}
		httppprof.Handler(name).ServeHTTP(w, r)
	}
}

package admin

import (
	"net/http"

	"github.com/firebreak/firebreak/catalog"
	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/config"
)

func (a *API) listUpstreams(w http.ResponseWriter, r *http.Request) {
	ups, err := a.catalog.Upstreams(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[catalog.Entry[config.Upstream]]{Data: nonNil(ups)})
}

func (a *API) putUpstream(w http.ResponseWriter, r *http.Request) {
	var u config.Upstream
	if err := decode(r, &u); err != nil {
		fail(w, err)
		return
	}
	if err := sameName(r, &u.Name); err != nil {
		fail(w, err)
		return
	}
	if err := a.catalog.PutUpstream(r.Context(), u); err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, u)
}

func (a *API) deleteUpstream(w http.ResponseWriter, r *http.Request) {
	if err := a.catalog.DeleteUpstream(r.Context(), r.PathValue("name")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listModels(w http.ResponseWriter, r *http.Request) {
	ms, err := a.catalog.Models(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, list[catalog.Entry[config.Model]]{Data: nonNil(ms)})
}

func (a *API) putModel(w http.ResponseWriter, r *http.Request) {
	var m config.Model
	if err := decode(r, &m); err != nil {
		fail(w, err)
		return
	}
	if err := sameName(r, &m.Name); err != nil {
		fail(w, err)
		return
	}
	if err := a.catalog.PutModel(r.Context(), m); err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, m)
}

func (a *API) deleteModel(w http.ResponseWriter, r *http.Request) {
	if err := a.catalog.DeleteModel(r.Context(), r.PathValue("name")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) getRouting(w http.ResponseWriter, r *http.Request) {
	rt, err := a.catalog.Routing(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, rt)
}

func (a *API) putRouting(w http.ResponseWriter, r *http.Request) {
	var rt config.Routing
	if err := decode(r, &rt); err != nil {
		fail(w, err)
		return
	}
	if err := a.catalog.PutRouting(r.Context(), rt); err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, rt)
}

func (a *API) health(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, map[string]any{"demo": a.catalog.Demo(), "targets": a.catalog.Router().Health()})
}

// sameName fills an entry's empty name from the path and refuses a body
// whose name differs from it.
func sameName(r *http.Request, name *string) error {
	path := r.PathValue("name")
	if *name == "" {
		*name = path
	}
	if *name != path {
		return clienterr.Errorf(clienterr.InvalidRequest, "name %q in the body differs from %q in the path", *name, path)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

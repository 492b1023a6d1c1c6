package admin

import (
	"net/http"
	"strconv"

	"github.com/firebreak/firebreak/clienterr"
	"github.com/firebreak/firebreak/kb"
	"github.com/firebreak/firebreak/staff"
)

// KBDocument uploads one document: its bytes (base64 in JSON) and title,
// usually the file name, whose extension names the format unless Format
// does.
type KBDocument struct {
	Title  string `json:"title"`
	Format string `json:"format,omitempty"`
	Data   []byte `json:"data"`
}

// KBDetail is a knowledge base with its documents.
type KBDetail struct {
	kb.Base
	DocumentList []kb.Document `json:"document_list"`
}

// maxKBBody bounds a document upload: the document in base64, and room.
const maxKBBody = kb.MaxDocumentBytes*4/3 + 1<<20

type kbAPI struct{ svc *kb.Service }

func (a *API) kbRoutes(add func(string, []staff.Permission, http.HandlerFunc)) {
	if a.kb == nil {
		return
	}
	h := kbAPI{svc: a.kb}
	view, manage := perms(staff.ViewKB), perms(staff.ManageKB)
	add("GET /admin/v1/kb", view, h.list)
	add("POST /admin/v1/kb", manage, h.create)
	add("GET /admin/v1/kb/{name}", view, h.get)
	add("DELETE /admin/v1/kb/{name}", manage, h.remove)
	add("POST /admin/v1/kb/{name}/documents", manage, h.addDocument)
	add("DELETE /admin/v1/kb/{name}/documents/{id}", manage, h.removeDocument)
	add("GET /admin/v1/kb/{name}/search", view, h.search)
	add("GET /admin/v1/grounding", view, h.groundings)
	add("PUT /admin/v1/grounding/{route}", manage, h.setGrounding)
	add("DELETE /admin/v1/grounding/{route}", manage, h.removeGrounding)
}

func (h kbAPI) list(w http.ResponseWriter, r *http.Request) {
	bs, err := h.svc.Bases(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	if bs == nil {
		bs = []kb.Base{}
	}
	reply(w, http.StatusOK, list[kb.Base]{Data: bs})
}

func (h kbAPI) create(w http.ResponseWriter, r *http.Request) {
	var in kb.Base
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	in.CreatedBy = actor(r)
	note(r, "kb", in.Name)
	b, err := h.svc.CreateBase(r.Context(), in)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusCreated, b)
}

func (h kbAPI) get(w http.ResponseWriter, r *http.Request) {
	b, err := h.svc.Base(r.Context(), r.PathValue("name"))
	if err != nil {
		fail(w, err)
		return
	}
	docs, err := h.svc.Documents(r.Context(), b.Name)
	if err != nil {
		fail(w, err)
		return
	}
	if docs == nil {
		docs = []kb.Document{}
	}
	reply(w, http.StatusOK, KBDetail{Base: b, DocumentList: docs})
}

func (h kbAPI) remove(w http.ResponseWriter, r *http.Request) {
	note(r, "kb", r.PathValue("name"))
	if err := h.svc.RemoveBase(r.Context(), r.PathValue("name")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h kbAPI) addDocument(w http.ResponseWriter, r *http.Request) {
	var in KBDocument
	if err := decodeLimit(r, &in, maxKBBody); err != nil {
		fail(w, err)
		return
	}
	note(r, "kb", r.PathValue("name"))
	note(r, "document", in.Title)
	d, err := h.svc.AddDocument(r.Context(), r.PathValue("name"), kb.NewDocument{Title: in.Title, Format: in.Format, Data: in.Data, Author: actor(r)})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusCreated, d)
}

func (h kbAPI) removeDocument(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, clienterr.Errorf(clienterr.InvalidRequest, "document id must be a number"))
		return
	}
	note(r, "kb", r.PathValue("name"))
	note(r, "document", r.PathValue("id"))
	if err := h.svc.RemoveDocument(r.Context(), r.PathValue("name"), id); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// search is GET /admin/v1/kb/{name}/search?q=…&k=5: what a grounded
// route would retrieve from this base.
func (h kbAPI) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	k := 5
	if s := r.URL.Query().Get("k"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fail(w, clienterr.Errorf(clienterr.InvalidRequest, "k must be 1 to 100"))
			return
		}
		k = n
	}
	if q == "" {
		fail(w, clienterr.Errorf(clienterr.InvalidRequest, "q (the query) is required"))
		return
	}
	if _, err := h.svc.Base(r.Context(), r.PathValue("name")); err != nil {
		fail(w, err)
		return
	}
	ps, err := h.svc.Search(r.Context(), []string{r.PathValue("name")}, q, k)
	if err != nil {
		fail(w, err)
		return
	}
	if ps == nil {
		ps = []kb.Passage{}
	}
	reply(w, http.StatusOK, list[kb.Passage]{Data: ps})
}

func (h kbAPI) groundings(w http.ResponseWriter, r *http.Request) {
	gs, err := h.svc.Groundings(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	if gs == nil {
		gs = []kb.Grounding{}
	}
	reply(w, http.StatusOK, list[kb.Grounding]{Data: gs})
}

func (h kbAPI) setGrounding(w http.ResponseWriter, r *http.Request) {
	var in kb.Grounding
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	in.Route, in.UpdatedBy = r.PathValue("route"), actor(r)
	note(r, "route", in.Route)
	note(r, "action", string(in.Action))
	g, err := h.svc.SetGrounding(r.Context(), in)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, g)
}

func (h kbAPI) removeGrounding(w http.ResponseWriter, r *http.Request) {
	note(r, "route", r.PathValue("route"))
	if err := h.svc.RemoveGrounding(r.Context(), r.PathValue("route")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

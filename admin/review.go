package admin

import (
	"net/http"

	"github.com/firebreak/firebreak/review"
	"github.com/firebreak/firebreak/staff"
)

// GradingSetIn adds items to a grading set on the review desk.
type GradingSetIn struct {
	Items []review.GradingItem `json:"items"`
}

// GradingSetAdded says how many items were new.
type GradingSetAdded struct {
	Set   string `json:"set"`
	Items int    `json:"items"`
	Added int    `json:"added"` // items already in the set are left as they were
}

// GradingSetGrades is a grading set's grades so far.
type GradingSetGrades struct {
	Set    string         `json:"set"`
	Graded int            `json:"graded"`
	Open   int            `json:"open"`
	Grades []review.Grade `json:"grades"`
}

// maxGradingBody bounds a grading set upload: room for the standard's
// 4,000-item manual sample at the longest item the desk takes (64 KiB).
const maxGradingBody = 256 << 20

type reviewAPI struct{ q *review.Queue }

func (a *API) reviewRoutes(add func(string, []staff.Permission, http.HandlerFunc)) {
	if a.review == nil {
		return
	}
	h := reviewAPI{q: a.review}
	add("POST /admin/v1/review/grading/{set}", perms(staff.SeniorReview), h.addGradingSet)
	add("GET /admin/v1/review/grading/{set}", perms(staff.ViewReview), h.gradingSet)
}

func (h reviewAPI) addGradingSet(w http.ResponseWriter, r *http.Request) {
	var in GradingSetIn
	if err := decodeLimit(r, &in, maxGradingBody); err != nil {
		fail(w, err)
		return
	}
	set := r.PathValue("set")
	note(r, "set", set)
	n, err := h.q.AddGradingSet(r.Context(), set, in.Items)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, GradingSetAdded{Set: set, Items: len(in.Items), Added: n})
}

func (h reviewAPI) gradingSet(w http.ResponseWriter, r *http.Request) {
	set := r.PathValue("set")
	gs, err := h.q.GradingSet(r.Context(), set)
	if err != nil {
		fail(w, err)
		return
	}
	out := GradingSetGrades{Set: set, Grades: gs}
	for _, g := range gs {
		if g.Verdict == "" {
			out.Open++
		} else {
			out.Graded++
		}
	}
	reply(w, http.StatusOK, out)
}

package admin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/firebreak/firebreak/account"
)

// Key is the wire form of an API key. Secret is set only in the answer to
// the request that created the key: it is not stored and cannot be shown
// again.
type Key struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Models     []string   `json:"models"`
	Limits     Limits     `json:"limits"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	EndUser    string     `json:"end_user,omitempty"`
	Secret     string     `json:"key,omitempty"`
}

func keyOf(k *account.Key) Key {
	models := k.Models
	if models == nil {
		models = []string{}
	}
	return Key{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Models: models,
		Limits: limitsOf(k.Limits), ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, EndUser: k.EndUser}
}

// KeyInput creates a key.
type KeyInput struct {
	Name      string     `json:"name"`
	Models    []string   `json:"models"`
	Limits    Limits     `json:"limits"`
	ExpiresAt *time.Time `json:"expires_at"`
	// EndUser makes a key that belongs to one end user (the operator's id).
	EndUser string `json:"end_user"`
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenant(r)
	if err != nil {
		fail(w, err)
		return
	}
	keys, err := a.accounts.Keys.List(r.Context(), t.ID)
	if err != nil {
		fail(w, err)
		return
	}
	out := list[Key]{Data: []Key{}}
	for i := range keys {
		out.Data = append(out.Data, keyOf(&keys[i]))
	}
	reply(w, http.StatusOK, out)
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenant(r)
	if err != nil {
		fail(w, err)
		return
	}
	var in KeyInput
	if err := decode(r, &in); err != nil {
		fail(w, err)
		return
	}
	k, secret, err := a.accounts.Keys.Create(r.Context(), account.Key{TenantID: t.ID, Name: in.Name,
		Models: in.Models, Limits: in.Limits.account(), ExpiresAt: in.ExpiresAt, EndUser: in.EndUser})
	if err != nil {
		fail(w, err)
		return
	}
	out := keyOf(k)
	out.Secret = secret
	reply(w, http.StatusCreated, out)
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := a.accounts.Keys.Revoke(r.Context(), r.PathValue("key")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// User is the wire form of an end user.
type User struct {
	ID         string    `json:"id"`
	TenantID   string    `json:"tenant_id"`
	ExternalID string    `json:"external_id"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenant(r)
	if err != nil {
		fail(w, err)
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	users, err := a.accounts.Users.List(r.Context(), t.ID, r.URL.Query().Get("after"), limit)
	if err != nil {
		fail(w, err)
		return
	}
	out := list[User]{Data: []User{}}
	for _, u := range users {
		out.Data = append(out.Data, User{ID: u.ID, TenantID: u.TenantID, ExternalID: u.ExternalID,
			Status: u.Status, CreatedAt: u.CreatedAt, LastSeenAt: u.LastSeenAt})
	}
	reply(w, http.StatusOK, out)
}

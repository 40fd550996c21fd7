package web

import (
	"net/http"

	"github.com/steeple-sms/steeple"
)

func (h *Handler) routeGroups() {
	h.mux.HandleFunc("GET /groups", h.authed(h.groupList))
	h.mux.HandleFunc("POST /groups", h.authed(h.groupCreate))
	h.mux.HandleFunc("POST /groups/{id}", h.authed(h.groupRename))
	h.mux.HandleFunc("POST /groups/{id}/delete", h.authed(h.groupDelete))
}

// groupsData is the group list; Editing is the group whose rename failed.
type groupsData struct {
	Groups  []steeple.Group
	Editing string
	Done    string // message id of what was just done
}

func (h *Handler) showGroups(w http.ResponseWriter, r *http.Request, s *session, status int, d groupsData) {
	v := s.view
	v.TitleID = "groups.title"
	var err error
	if d.Groups, err = h.deps.Members.Groups(r.Context(), s.h); err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Data = d
	h.render(w, r, status, "groups", v)
}

func (h *Handler) groupList(w http.ResponseWriter, r *http.Request, s *session) {
	d := groupsData{}
	switch r.URL.Query().Get("done") {
	case "created", "renamed", "deleted":
		d.Done = "groups.done." + r.URL.Query().Get("done")
	}
	h.showGroups(w, r, s, http.StatusOK, d)
}

func (h *Handler) groupCreate(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	v.Form.Values["name"] = r.PostForm.Get("name")
	if _, err := h.deps.Members.CreateGroup(r.Context(), s.h, r.PostForm.Get("name")); err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			err = steeple.FieldError("name", "a group with this name already exists")
		}
		if h.formError(v, err, "name") {
			h.showGroups(w, r, s, http.StatusBadRequest, groupsData{})
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/groups?done=created", http.StatusSeeOther)
}

// groupRename renames a group; its errors show beside that group's field.
func (h *Handler) groupRename(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	id := r.PathValue("id")
	if _, err := h.deps.Members.Group(r.Context(), s.h, id); err != nil {
		h.fail(w, r, v, err)
		return
	}
	v.Form.Values["rename-"+id] = r.PostForm.Get("name")
	if _, err := h.deps.Members.RenameGroup(r.Context(), s.h, id, r.PostForm.Get("name")); err != nil {
		if fe := fieldErrors(err); fe != nil {
			v.Form.Errors["rename-"+id] = fe["name"]
			h.showGroups(w, r, s, http.StatusBadRequest, groupsData{Editing: id})
			return
		}
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			v.Form.Errors["rename-"+id] = "a group with this name already exists"
			h.showGroups(w, r, s, http.StatusConflict, groupsData{Editing: id})
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/groups?done=renamed", http.StatusSeeOther)
}

// groupDelete removes a group after a confirmation; its members stay.
func (h *Handler) groupDelete(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	g, err := h.deps.Members.Group(r.Context(), s.h, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		h.confirm(w, r, v, v.T("groups.delete.question", "Name", g.Name, "Count", g.Members, "N", v.Num(g.Members)),
			v.T("groups.delete.button", "Name", g.Name), "/groups")
		return
	}
	if err := h.deps.Members.DeleteGroup(r.Context(), s.h, g.ID); err != nil {
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/groups?done=deleted", http.StatusSeeOther)
}

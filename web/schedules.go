package web

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/schedule"
)

// schedulesDays is how far ahead the schedules list looks.
const schedulesDays = 30

func (h *Handler) routeSchedules() {
	h.mux.HandleFunc("GET /schedules", h.authed(h.scheduleList))
	h.mux.HandleFunc("GET /schedules/{id}", h.authed(h.scheduleEdit))
	h.mux.HandleFunc("POST /schedules/{id}", h.authed(h.scheduleSave))
	h.mux.HandleFunc("POST /schedules/{id}/pause", h.authed(h.scheduleAction("pause")))
	h.mux.HandleFunc("POST /schedules/{id}/resume", h.authed(h.scheduleAction("resume")))
	h.mux.HandleFunc("POST /schedules/{id}/delete", h.authed(h.scheduleAction("delete")))
}

// slot is one upcoming sending of a schedule.
type slot struct {
	At  time.Time
	S   *schedule.View
	DST bool
}

// schedulesData is the list: the next 30 days' sendings, and the paused.
type schedulesData struct {
	Slots  []slot
	Paused []*schedule.View
	Done   string
	Retry  string // the action to try again after a 409
	Edit   *schedule.View
}

// Summary is what a schedule sends, shortened.
func (schedulesData) Summary(s *schedule.View) string {
	if s.Name != "" {
		return s.Name
	}
	return truncate(s.Message.Text, 60)
}

// Audience says who a schedule's message goes to.
func (v *view) Audience(s *schedule.View) string {
	a := s.Message.Audience
	switch {
	case len(a.GroupIDs) > 0:
		return v.T("schedules.audience.groups", "Count", len(a.GroupIDs), "N", v.Num(len(a.GroupIDs)))
	case len(a.MemberIDs) > 0:
		return v.T("schedules.audience.members", "Count", len(a.MemberIDs), "N", v.Num(len(a.MemberIDs)))
	}
	return v.T("compose.audience.all")
}

// LocalDate and LocalTime are a moment's date and time in the church's
// timezone, for the edit form's fields.
func (v *view) LocalDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(v.loc()).Format(time.DateOnly)
}

func (v *view) LocalTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(v.loc()).Format("15:04")
}

// allSchedules lists both kinds.
func (h *Handler) allSchedules(ctx context.Context, s *session) ([]*schedule.View, error) {
	once, err := h.deps.Schedules.List(ctx, s.h, steeple.ScheduleOnce)
	if err != nil {
		return nil, err
	}
	rec, err := h.deps.Schedules.List(ctx, s.h, steeple.ScheduleRecurring)
	if err != nil {
		return nil, err
	}
	return append(once, rec...), nil
}

// findSchedule finds one of the church's schedules. Errors: ENOTFOUND.
func (h *Handler) findSchedule(ctx context.Context, s *session, id string) (*schedule.View, error) {
	if !steeple.ValidID(id) {
		return nil, errNotFound
	}
	all, err := h.allSchedules(ctx, s)
	if err != nil {
		return nil, err
	}
	for _, sc := range all {
		if sc.ID == id {
			return sc, nil
		}
	}
	return nil, errNotFound
}

func (h *Handler) scheduleList(w http.ResponseWriter, r *http.Request, s *session) {
	d := &schedulesData{}
	switch done := r.URL.Query().Get("done"); done {
	case "scheduled", "recurring", "saved", "paused", "resumed", "deleted":
		d.Done = "schedules.done." + done
	}
	h.showSchedules(w, r, s, http.StatusOK, d)
}

func (h *Handler) showSchedules(w http.ResponseWriter, r *http.Request, s *session, status int, d *schedulesData) {
	v := s.view
	v.TitleID = "schedules.title"
	ctx := r.Context()
	all, err := h.allSchedules(ctx, s)
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	loc := schedule.Location(s.h)
	now := h.deps.Now()
	until := now.AddDate(0, 0, schedulesDays)
	for _, sc := range all {
		switch {
		case sc.Status == steeple.SchedulePaused:
			d.Paused = append(d.Paused, sc)
		case sc.Status != steeple.ScheduleActive:
		case sc.Kind == steeple.ScheduleOnce && sc.SendAt != nil:
			if sc.SendAt.Before(until) {
				d.Slots = append(d.Slots, slot{At: *sc.SendAt, S: sc})
			}
		case sc.Rule != nil:
			after := now
			for i := 0; i < 62; i++ {
				o, err := sc.Rule.Next(after, loc)
				if err != nil || !o.At.Before(until) {
					break
				}
				d.Slots = append(d.Slots, slot{At: o.At, S: sc, DST: dstChangeOn(o.At, loc)})
				after = o.At
			}
		}
	}
	sort.SliceStable(d.Slots, func(i, j int) bool { return d.Slots[i].At.Before(d.Slots[j].At) })
	v.Data = d
	h.render(w, r, status, "schedules", v)
}

// scheduleEdit shows the edit form: a new date and time for a scheduled
// message, a new time of day (and name) for a recurring one.
func (h *Handler) scheduleEdit(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	sc, err := h.findSchedule(r.Context(), s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	if sc.Kind == steeple.ScheduleOnce {
		v.Form.Values["date"], v.Form.Values["time"] = v.LocalDate(sc.SendAt), v.LocalTime(sc.SendAt)
	} else {
		v.Form.Values["time"], v.Form.Values["name"] = sc.Rule.Time, sc.Name
	}
	h.showEdit(w, r, s, http.StatusOK, sc)
}

func (h *Handler) showEdit(w http.ResponseWriter, r *http.Request, s *session, status int, sc *schedule.View) {
	v := s.view
	v.TitleID = "schedules.edit.title"
	v.Data = &schedulesData{Edit: sc}
	h.render(w, r, status, "schedules", v)
}

func (h *Handler) scheduleSave(w http.ResponseWriter, r *http.Request, s *session) {
	v := s.view
	ctx := r.Context()
	sc, err := h.findSchedule(ctx, s, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, v, err)
		return
	}
	f := r.PostForm
	for _, k := range []string{"date", "time", "name"} {
		v.Form.Values[k] = f.Get(k)
	}
	if sc.Kind == steeple.ScheduleOnce {
		at, perr := sendAt(v, schedule.Location(s.h))
		if perr != nil {
			err = perr
		} else {
			st := schedule.NewSendTime(at.Format(time.RFC3339))
			_, err = h.deps.Schedules.UpdateScheduled(ctx, s.h, sc.ID, schedule.ScheduledUpdate{SendAt: &st})
		}
	} else {
		rule := *sc.Rule
		rule.Time = strings.TrimSpace(f.Get("time"))
		name := f.Get("name")
		_, err = h.deps.Schedules.UpdateRecurring(ctx, s.h, sc.ID, schedule.RecurringUpdate{Name: &name, Rule: &rule})
	}
	if err != nil {
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			h.showSchedules(w, r, s, http.StatusConflict, &schedulesData{Retry: r.URL.Path})
			return
		}
		if fe := fieldErrors(err); fe != nil {
			for k, m := range fe {
				v.Form.Errors[k] = m
			}
			h.showEdit(w, r, s, http.StatusBadRequest, sc)
			return
		}
		h.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/schedules?done=saved", http.StatusSeeOther)
}

// scheduleAction pauses, resumes or deletes. A message being sent right
// now cannot change: the list comes back (409) with a button to try again.
func (h *Handler) scheduleAction(op string) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		v := s.view
		ctx := r.Context()
		sc, err := h.findSchedule(ctx, s, r.PathValue("id"))
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		done := map[string]string{"pause": "paused", "resume": "resumed", "delete": "deleted"}[op]
		switch {
		case op == "delete" && sc.Kind == steeple.ScheduleOnce:
			err = h.deps.Schedules.CancelScheduled(ctx, s.h, sc.ID)
		case op == "delete":
			err = h.deps.Schedules.DeleteRecurring(ctx, s.h, sc.ID)
		case sc.Kind == steeple.ScheduleOnce:
			err = errNotFound // only recurring messages pause
		case op == "pause":
			_, err = h.deps.Schedules.PauseRecurring(ctx, s.h, sc.ID)
		default:
			_, err = h.deps.Schedules.ResumeRecurring(ctx, s.h, sc.ID)
		}
		if steeple.ErrorCode(err) == steeple.ECONFLICT {
			h.showSchedules(w, r, s, http.StatusConflict, &schedulesData{Retry: r.URL.Path})
			return
		}
		if err != nil {
			h.fail(w, r, v, err)
			return
		}
		http.Redirect(w, r, "/schedules?done="+done, http.StatusSeeOther)
	}
}

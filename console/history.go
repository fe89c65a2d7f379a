package console

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"deskcrm/store"
	"deskcrm/workflows"
)

// historyData is the history page's data: the seven-day table and its chart, and the
// conflict log of the same days.
type historyData struct {
	Lines []store.RunLine
	Chart chart
	Since time.Time
	// Conflicts are the newest conflictsShown entries of the conflict log; ConflictTotal
	// counts the seven days' entries.
	Conflicts     []conflictRow
	ConflictTotal int
}

// conflictsShown bounds the conflict log's entries on the history page.
const conflictsShown = 100

// conflictRow is one entry of the conflict log as the history page shows it.
type conflictRow struct {
	store.Conflict
	DeskURL, CRMURL string
	// Fields say per field which side's edit was kept and why, in words.
	Fields []string
}

// chart is a bar chart of the records added, updated and failed per UTC day, drawn as SVG by
// the template from these numbers.
type chart struct {
	Width, Height, Base int
	Days                []chartDay
	Max                 int
	Ticks               []chartTick
}

// chartDay is one day's stacked bar: failed at the bottom, then updated, then added.
type chartDay struct {
	Label                              string
	X, BarWidth                        int
	Added, Updated, Failed             int
	AddedY, AddedH, UpdatedY, UpdatedH int
	FailedY, FailedH                   int
}

// chartTick is a horizontal guide line with its value.
type chartTick struct {
	Y, Value int
}

// chartGeometry of the SVG drawing, in its own units (the page scales it).
const (
	chartWidth  = 700
	chartHeight = 200
	chartBase   = 170 // the baseline's y; labels go below it
	chartLeft   = 40  // room for the value labels
	chartTop    = 10
)

func (h *handler) historyPage(w http.ResponseWriter, r *http.Request) {
	v := view{Title: "Sync history", Active: "history"}
	id, err := integrationOf(r)
	if err != nil {
		v.Problem, v.Data = err.Error(), historyData{}
		h.render(w, r, http.StatusBadRequest, "history", v)
		return
	}
	ctx, cancel := timeout(r, 15*time.Second)
	defer cancel()
	now := h.cfg.Now()
	since := now.Add(-workflows.HistoryKeep)
	lines, err := h.cfg.Store.RunHistory(ctx, id, since, workflows.HistoryNewest)
	if err != nil {
		v.Problem = h.fail("read the sync history", err, zap.String("integration", id))
	}
	d := historyData{Lines: lines, Chart: dayChart(lines, now), Since: since}
	cs, total, err := h.cfg.Store.RecentConflicts(ctx, id, since, conflictsShown)
	if err != nil {
		v.Problem = joinProblems(v.Problem, h.fail("read the conflict log", err, zap.String("integration", id)))
	}
	d.ConflictTotal = total
	for _, c := range cs {
		row := conflictRow{Conflict: c}
		if h.cfg.RecordURL != nil {
			row.DeskURL, row.CRMURL = h.cfg.RecordURL("desk", c.Module, c.DeskID), h.cfg.RecordURL("crm", c.Module, c.CRMID)
		}
		for _, f := range c.Fields {
			row.Fields = append(row.Fields, f.Words())
		}
		d.Conflicts = append(d.Conflicts, row)
	}
	v.Data = d
	h.render(w, r, 0, "history", v)
}

// dayChart sums the history lines per UTC day over the seven days up to now and lays out the
// bars.
func dayChart(lines []store.RunLine, now time.Time) chart {
	const days = 7
	c := chart{Width: chartWidth, Height: chartHeight, Base: chartBase}
	today := now.UTC().Truncate(24 * time.Hour)
	slot := (chartWidth - chartLeft) / days
	for i := range days {
		day := today.AddDate(0, 0, i-days+1)
		c.Days = append(c.Days, chartDay{Label: day.Format("Mon 02"), X: chartLeft + i*slot + slot/5, BarWidth: slot * 3 / 5})
	}
	for _, l := range lines {
		i := int(l.Time.UTC().Truncate(24*time.Hour).Sub(today)/(24*time.Hour)) + days - 1
		if i < 0 || i >= days {
			continue
		}
		c.Days[i].Added += l.Added
		c.Days[i].Updated += l.Updated
		c.Days[i].Failed += l.Failed
	}
	for _, d := range c.Days {
		c.Max = max(c.Max, d.Added+d.Updated+d.Failed)
	}
	scale := max(c.Max, 1)
	height := chartBase - chartTop
	for i := range c.Days {
		d := &c.Days[i]
		// Tops from the running sums, so that the segments meet and the highest bar reaches
		// the top whatever the rounding.
		top := func(sum int) int { return chartBase - sum*height/scale }
		d.FailedY = top(d.Failed)
		d.UpdatedY = top(d.Failed + d.Updated)
		d.AddedY = top(d.Failed + d.Updated + d.Added)
		d.FailedH, d.UpdatedH, d.AddedH = chartBase-d.FailedY, d.FailedY-d.UpdatedY, d.UpdatedY-d.AddedY
	}
	for _, f := range []int{0, 1, 2} {
		v := scale * f / 2
		c.Ticks = append(c.Ticks, chartTick{Y: chartBase - v*height/scale, Value: v})
	}
	return c
}

package report

import (
	"bufio"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Figure geometry. A figure of n panels is FigureWidth × n·PanelHeight;
// PNGs are rendered at vgimg.DefaultDPI (96), so one panel is 768×384 pixels.
const (
	FigureWidth = 8 * vg.Inch
	PanelHeight = 4 * vg.Inch
)

// FigureSize returns the size of a figure with the given number of panels.
func FigureSize(panels int) (w, h vg.Length) {
	return FigureWidth, vg.Length(panels) * PanelHeight
}

// markerLimit is the number of points up to which lines also get markers:
// short runs stay readable, long ones are not smothered in glyphs.
const markerLimit = 40

// buildPanel returns the plot of one panel, or nil when none of its series
// has a point.
func buildPanel(d *runData, pn panel) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.X.Label.Text = "step"
	p.Y.Label.Text = pn.ylabel
	p.Add(plotter.NewGrid())
	var legend []legendEntry
	var pts plotter.XYs // everything drawn, for placing the legend
	lines := pn.lines
	if pn.dynamic != nil {
		lines = append(append([]line(nil), lines...), pn.dynamic(d)...)
	}
	for i, l := range lines {
		xs, ys := d.series(l.get)
		if len(xs) == 0 {
			continue
		}
		c := plotutil.Color(i)
		if i == 0 && pn.band != nil {
			if poly, err := bandPolygon(d, l.get, pn.band.get, c); err != nil {
				return nil, err
			} else if poly != nil {
				p.Add(poly)
				pts = append(pts, poly.XYs[0]...)
				legend = append(legend, legendEntry{pn.band.label, poly})
			}
		}
		th, err := addLine(p, xs, ys, c, nil)
		if err != nil {
			return nil, fmt.Errorf("report: series %q: %w", l.label, err)
		}
		legend = append(legend, legendEntry{l.label, th})
		pts = append(pts, th.XYs...)
	}
	if pn.withEval {
		ents, epts, err := addEval(p, d, len(lines))
		if err != nil {
			return nil, err
		}
		legend = append(legend, ents...)
		pts = append(pts, epts...)
	}
	if len(legend) == 0 {
		return nil, nil
	}
	if pn.unit {
		p.Y.Min, p.Y.Max = math.Min(p.Y.Min, 0), math.Max(p.Y.Max, 1)
	}
	if pn.zero {
		p.Y.Min = math.Min(p.Y.Min, 0)
	}
	if len(legend) > 1 {
		placeLegend(p, pts, len(legend))
		for _, e := range legend {
			p.Legend.Add(e.label, e.thumb)
		}
	}
	return p, nil
}

type legendEntry struct {
	label string
	thumb plot.Thumbnailer
}

// addLine draws ys over xs in colour c (dashed when dashes is non-nil) and
// returns the line for the legend.
func addLine(p *plot.Plot, xs, ys []float64, c color.Color, dashes []vg.Length) (*plotter.Line, error) {
	xys := make(plotter.XYs, len(xs))
	for i := range xs {
		xys[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	ln, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	ln.Color, ln.Width, ln.Dashes = c, vg.Points(1.5), dashes
	p.Add(ln)
	if len(xys) <= markerLimit {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = c, vg.Points(2), draw.CircleGlyph{}
		p.Add(sc)
	}
	return ln, nil
}

// bandPolygon shades mean ± std over the steps that log both; nil when
// none does.
func bandPolygon(d *runData, meanG, stdG getter, c color.Color) (*plotter.Polygon, error) {
	var up, down plotter.XYs
	for i, r := range d.metrics {
		m, ok1 := meanG(r.fields)
		s, ok2 := stdG(r.fields)
		if ok1 && ok2 {
			up = append(up, plotter.XY{X: d.steps[i], Y: m + s})
			down = append(down, plotter.XY{X: d.steps[i], Y: m - s})
		}
	}
	if len(up) == 0 {
		return nil, nil
	}
	ring := append(plotter.XYs(nil), up...)
	for i := len(down) - 1; i >= 0; i-- {
		ring = append(ring, down[i])
	}
	poly, err := plotter.NewPolygon(ring)
	if err != nil {
		return nil, fmt.Errorf("report: std band: %w", err)
	}
	r, g, b, _ := c.RGBA()
	poly.Color = color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 70}
	poly.LineStyle.Width = 0
	return poly, nil
}

// errPoints are eval accuracies with symmetric stderr bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// addEval draws each split/mode of eval.jsonl as a dashed line with stderr
// error bars, coloured after the first colourOffset train series.
// It returns the legend entries and the ends of the error bars.
func addEval(p *plot.Plot, d *runData, colourOffset int) ([]legendEntry, plotter.XYs, error) {
	labels, groups := d.evalGroups()
	var ents []legendEntry
	var pts plotter.XYs
	for i, l := range labels {
		g := groups[l]
		ep := errPoints{XYs: make(plotter.XYs, len(g)), YErrors: make(plotter.YErrors, len(g))}
		xs, ys := make([]float64, len(g)), make([]float64, len(g))
		for j, e := range g {
			xs[j], ys[j] = e.step, e.acc
			ep.XYs[j] = plotter.XY{X: e.step, Y: e.acc}
			ep.YErrors[j].Low, ep.YErrors[j].High = e.stderr, e.stderr
			pts = append(pts, plotter.XY{X: e.step, Y: e.acc - e.stderr}, plotter.XY{X: e.step, Y: e.acc + e.stderr})
		}
		c := plotutil.Color(colourOffset + i)
		ln, err := addLine(p, xs, ys, c, []vg.Length{vg.Points(5), vg.Points(3)})
		if err != nil {
			return nil, nil, fmt.Errorf("report: eval %q: %w", l, err)
		}
		bars, err := plotter.NewYErrorBars(ep)
		if err != nil {
			return nil, nil, fmt.Errorf("report: eval %q: %w", l, err)
		}
		bars.Color, bars.Width = c, vg.Points(1.2)
		p.Add(bars)
		name := "eval"
		if l != "" {
			name += " " + l
		}
		ents = append(ents, legendEntry{name, ln})
	}
	return ents, pts, nil
}

// placeLegend puts the legend in the corner of p's data area holding the
// fewest of pts (top right, top left, bottom right, bottom left on ties);
// when every corner holds data it raises the y axis to leave an empty band
// for the legend at the top. Call it after p's axis ranges are final.
func placeLegend(p *plot.Plot, pts plotter.XYs, entries int) {
	const boxX = 0.4 // fraction of the width a legend is assumed to cover
	// Each entry is about 6% of a panel's data height.
	boxY := math.Min(0.06*float64(entries)+0.04, 0.6)
	dx, dy := p.X.Max-p.X.Min, p.Y.Max-p.Y.Min
	p.Legend.Top, p.Legend.Left = true, false
	if dx <= 0 || dy <= 0 {
		return
	}
	best := -1
	for _, c := range []struct{ top, left bool }{{true, false}, {true, true}, {false, false}, {false, true}} {
		n := 0
		for _, q := range pts {
			fx, fy := (q.X-p.X.Min)/dx, (q.Y-p.Y.Min)/dy
			inX := c.left && fx <= boxX || !c.left && fx >= 1-boxX
			inY := c.top && fy >= 1-boxY || !c.top && fy <= boxY
			if inX && inY {
				n++
			}
		}
		if best < 0 || n < best {
			best, p.Legend.Top, p.Legend.Left = n, c.top, c.left
		}
	}
	if best > 0 {
		p.Legend.Top, p.Legend.Left = true, false
		p.Y.Max += dy * boxY / (1 - boxY)
	}
}

// writeFigure saves the panels stacked vertically as a PNG at path. It
// renders through vgimg itself rather than Plot.Save to pick the PNG
// compression: BestSpeed skips the costliest part of encoding, and a report
// is cheap to regenerate, so file size matters less.
func writeFigure(path string, plots []*plot.Plot) error {
	w, h := FigureSize(len(plots))
	img := vgimg.New(w, h)
	dc := draw.New(img)
	if len(plots) == 1 {
		plots[0].Draw(dc)
	} else {
		// Align leaves the gaps between tiles unpainted; paint them white first.
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Millimeter * 3,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		grid := make([][]*plot.Plot, len(plots))
		for i, p := range plots {
			grid[i] = []*plot.Plot{p}
		}
		canvases := plot.Align(grid, tiles, dc)
		for i, p := range plots {
			p.Draw(canvases[i][0])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	err = enc.Encode(bw, img.Image())
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	return nil
}

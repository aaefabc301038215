"The committed figures: they redraw from the committed runs, fit a paper's columns, and explain every mark they draw."
import matplotlib
matplotlib.use('Agg')
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
import numpy as np
import pytest
from conftest import ROOT
from baasprompt.figures import (DOUBLE, SINGLE, make_figures, plot_ablations, plot_forest, plot_main_comparison, plot_params,
                                plot_training_curves, vs_zero_shot)
from baasprompt.report import ablation_table, collect, zero_shot_check

@pytest.fixture(scope='module')
def quick():
    return collect('quick', ROOT)

@pytest.fixture(scope='module')
def figures(quick):
    "Every quick figure with its caption, drawn once for the module."
    drawn = {'vs_zero_shot': plot_forest(vs_zero_shot(quick, 'quick', ROOT), 'dataset', 'backbone'),
             'main_comparison': plot_main_comparison(quick), 'training_curves': plot_training_curves(quick, 'quick', ROOT),
             'accuracy_vs_parameters': plot_params(quick), 'ablations': plot_ablations(ablation_table(quick))}
    yield drawn
    plt.close('all')

def test_quick_figures_redraw_from_the_committed_runs(tmp_path):
    (tmp_path/'results'/'quick').mkdir(parents=True)
    (tmp_path/'results'/'quick'/'runs').symlink_to(ROOT/'results'/'quick'/'runs')
    written = make_figures('quick', tmp_path)
    committed = ROOT/'figures'/'quick'
    assert sorted(p.name for p in written) == sorted(p.name for p in committed.iterdir())   # nothing stale left beside them
    assert (tmp_path/'figures'/'quick'/'captions.md').read_text() == (committed/'captions.md').read_text()
    for p in written:
        if p.suffix == '.png': assert plt.imread(p).shape == plt.imread(committed/p.name).shape, p.name

def test_widths_fit_a_column_or_the_page_and_text_reads(figures):
    for name, (fig, caption) in figures.items():
        width = fig.get_size_inches()[0]
        assert width in (SINGLE, DOUBLE), (name, width)
        fig.canvas.draw()
        sizes = [t.get_fontsize() for t in fig.findobj(plt.Text) if t.get_text() and t.get_visible()]
        assert min(sizes) >= 7, (name, min(sizes))
        assert len(caption) > 100, name

def test_committed_pngs_are_print_resolution():
    for p in (ROOT/'figures'/'quick').glob('*.png'):
        assert plt.imread(p).shape[1] / 300 <= DOUBLE + 0.05, p.name                         # 300 dpi at no more than the page width
        assert plt.imread(p).shape[1] / 300 >= SINGLE - 0.3, p.name

def test_training_curves_name_every_colour_and_count_whole_epochs(figures):
    fig, caption = figures['training_curves']
    [legend] = fig.legends
    named = {mcolors.to_hex(h.get_color()) for h in legend.legend_handles if isinstance(h, Line2D)}
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert {mcolors.to_hex(l.get_color()) for ax in panels for l in ax.lines} == named
    for ax in panels: assert all(float(t).is_integer() for t in ax.get_xticks()), ax.get_xticks()
    assert 'seeds 0, 1, 2' in caption and 'minimum to maximum' in caption
    assert any(ax.get_ylabel() == 'dev accuracy' for ax in panels)

def test_forest_has_one_point_per_comparison_inside_its_interval(quick, figures):
    fig, caption = figures['vs_zero_shot']
    report = zero_shot_check(quick, 'quick', ROOT)
    containers = [c for ax in fig.axes if ax.get_visible() for c in ax.containers]
    assert len(containers) == len(report)
    for c in containers:
        (x0, _), (x1, _) = c.lines[2][0].get_segments()[0]
        assert x0 <= c.lines[0].get_xdata()[0] <= x1
    assert all(any(np.allclose(l.get_xdata(), 0) for l in ax.lines) for ax in fig.axes if ax.get_visible())
    assert '95 % paired bootstrap interval' in caption

def test_every_mark_has_a_legend_entry(figures):
    texts = lambda name: {t.get_text() for t in figures[name][0].legends[0].get_texts()}
    assert {'default setting', '95 % bootstrap interval over test questions'} <= texts('ablations')
    assert {'minilm', 'smollm2-135m', 'zero-shot (minilm)'} <= texts('accuracy_vs_parameters')
    assert {'zero-shot', 'chance'} <= texts('main_comparison')
    assert {'95 % interval', '0: as zero-shot', 'minilm', 'smollm2-135m'} <= texts('vs_zero_shot')

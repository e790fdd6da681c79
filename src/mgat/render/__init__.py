"""Rendering of results as the paper's tables and figures, beside the published numbers.

:mod:`~mgat.render.published` holds the paper's Tables 1-5 as data, :mod:`~mgat.render.tables`
writes them with this run's numbers (markdown, CSV, LaTeX; numbers printed by
:mod:`~mgat.render.numbers`), :mod:`~mgat.render.figures` draws Figure 4 and the CMC curves,
:mod:`~mgat.render.ranklist` the ranked lists and :mod:`~mgat.render.curves` the training
curves, all in the shared style of :mod:`~mgat.render.style`; :mod:`~mgat.render.sweeps` writes
the sweeps' table and figure. Each job imports the module it needs, so none pays for torch unless
it runs a model.
"""

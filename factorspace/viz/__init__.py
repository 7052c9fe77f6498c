"""Pictures and reports: the top layer; nothing else in factorspace imports it but the CLI and
the package root.

- :mod:`~factorspace.viz.palette`: the colours and names every picture shares;
- :mod:`~factorspace.viz.render`: a genotype's cells drawn as in the DARTS papers (graphviz);
  :mod:`~factorspace.viz.compare`: genotypes drawn side by side (planted beside found);
- :mod:`~factorspace.viz.records`, :mod:`~factorspace.viz.figures`, :mod:`~factorspace.viz.plots`:
  what a run recorded, the matplotlib figures of it, and those figures written into the run;
- :mod:`~factorspace.viz.report`, with :mod:`~factorspace.viz.sections` and
  :mod:`~factorspace.viz.page`: the HTML page about a run.

matplotlib is imported by :mod:`~factorspace.viz.figures` only (and so by what imports it).
"""

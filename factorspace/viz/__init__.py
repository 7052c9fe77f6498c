"""Pictures and reports: cell diagrams (render), training curves (plots), HTML reports (report).

The top layer: nothing else in factorspace imports it except the CLI and the package root.
"""

"""unCLIP Studio's UI: one module per tab, each with `build(backend)`, plus shared widgets in `common`.

Components format and lay out what `unclip` computes; they never do tensor maths.
"""

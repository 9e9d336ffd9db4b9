"""The C backend: the memory planner, the C renderer (one Jinja environment, :mod:`.ctext`), the
kernel families and their selection, and the host compilation of the generated C."""

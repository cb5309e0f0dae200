"""Change management (PRODUCT.md §9): change records, maintenance and blackout
windows, conflicts that see redundancy, risk with reasons, KPIs.

:mod:`records` holds the rules and the service that writes changes and
windows, :mod:`windows` the time arithmetic (RRULE, DST), :mod:`conflicts`
the conflict rules over the impact graph, :mod:`risk` and :mod:`kpi` the
assessments, :mod:`storage` the SQL. Qt-free, like the rest of the core.
"""

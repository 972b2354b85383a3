"""What perf/bench's tables share: a number or "-", and the client's own columns."""

# The columns client_cells() fills, for a table's header and its alignment row.
CLIENT_HEADER = "client CPU % | client core % | client core % ramp | client-bound"
CLIENT_ALIGN = "---:|---:|---:|---"


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def client_cells(r):
    """gordo-load's process and its whole core over the window (softirq included), its
    core while viewers connected (what TTFB is measured in), and whether any of them (or
    its process's CPU in the ramp) passed its --client-limit (85%): such a run measured
    the client."""
    bound = "**yes**" if r.get("client_bound") else "no"
    return (f"{fmt(r.get('load_cpu_pct'), '.1f')} | {fmt(r.get('load_core_busy_pct'), '.1f')} | "
            f"{fmt(r.get('load_ramp_core_busy_pct'), '.1f')} | {bound}")

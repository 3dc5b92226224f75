"""The one shape of every `tokprep bench` result: typed records, one schema, one ratio rule.

Every measurement hands back its raw numbers plus one or more `Table`s. A table names its
*reference* row, and each row's `ratio` is that row's quantity divided by the reference's (time
or memory; the table says which): **lower is better**, 1.00 is the reference, 0.50 takes half
the reference's time. The printed report, `results.json` and the charts read only these
records, so the ratio reads the same way everywhere.

    >>> t = Table("demo", "Demo", reference="b", columns=[Column("time", "seconds")])
    >>> t.add(Row("a", {"time": 1.0}, ratio=0.5))
    >>> t.rows[0].ratio < 1  # a takes half of b's time
    True

`results.json` carries `SCHEMA_VERSION`; it changes whenever a field changes meaning.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

#: Version of the `results.json` layout (the document and the table records below).
#: 1: free-form dicts per measurement; 2: `tables` of typed rows, time ÷ reference ratios.
SCHEMA_VERSION = 2

#: The ratio rule, stated once: printed under every table, in results.json and on the charts.
RATIO_RULE = "ratios are this row's {quantity} ÷ the reference's ({reference}): lower is better"

#: How a cell is rendered (and what its number means).
CELL_KINDS = ("seconds", "bytes", "rate", "count", "text", "percent", "number")


@dataclass(frozen=True)
class Column:
    """One value column of a table: its name (the header) and how its cells are rendered."""

    name: str
    kind: str = "number"
    unit: str = ""

    def __post_init__(self) -> None:
        if self.kind not in CELL_KINDS:
            raise ValueError(f"column kind {self.kind!r}: use one of {', '.join(CELL_KINDS)}")


@dataclass
class Row:
    """One contender in one table.

    `cells` maps column names to numbers (rendered by the column's kind), to text (shown as
    it is: "> 5 s cap", "n/a") or to None ("-"). `ratio` is quantity ÷ the reference's
    quantity (None when not comparable). `rate` is the throughput the chart draws, with its
    spread `rate_low`/`rate_high`; None leaves the row off the chart.
    """

    label: str
    cells: dict[str, Any] = field(default_factory=dict)
    ratio: float | None = None
    rate: float | None = None
    rate_low: float | None = None
    rate_high: float | None = None
    ours: bool = False  # a tokprep row (charts colour it)


@dataclass
class Table:
    """Rows of contenders measured the same way, with ratios against one `reference` row."""

    key: str
    title: str
    reference: str | None = None
    quantity: str = "time"  # what the ratio divides: "time" or "memory"
    columns: list[Column] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    rate_unit: str = ""  # the chart's throughput unit ("MB/s", "tokens/s"); "" for no chart
    notes: list[str] = field(default_factory=list)
    chart_note: str = ""  # a definition the chart must show too (what "cold" and "warm" mean)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def ratio_header(self) -> str:
        return f"{self.quantity} ÷ {self.reference}" if self.reference else ""

    def ratio_rule(self) -> str:
        return RATIO_RULE.format(quantity=self.quantity, reference=self.reference)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ratio"] = self.ratio_header()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        fields = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in data.items() if k in fields}
        kept["columns"] = [Column(**c) for c in data.get("columns", [])]
        kept["rows"] = [Row(**r) for r in data.get("rows", [])]
        return cls(**kept)


@dataclass
class Measurement:
    """What one measurement left: its status, parameters, raw numbers and tables.

    `status` is "ok", "skipped" (`reason` says why and how to run it) or "error" (`error`,
    `traceback`). `result` keeps the measuring function's raw numbers for anyone who wants
    more than the tables show.
    """

    name: str
    section: str
    title: str
    estimate_s: float
    status: str = "pending"
    seconds: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    reason: str | None = None
    error: str | None = None
    traceback: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["tables"] = [t.to_json() for t in self.tables]
        return data


@dataclass
class Document:
    """A whole run: what `results.json` holds (`schema_version` first)."""

    machine: dict[str, Any]
    run: dict[str, Any]
    measurements: dict[str, Measurement] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    charts: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def tables(self) -> list[tuple[Measurement, Table]]:
        return [(m, t) for m in self.measurements.values() for t in m.tables]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "ratio_rule": RATIO_RULE.format(quantity="time (or memory)", reference="named"),
            "machine": self.machine,
            "run": self.run,
            "measurements": {name: m.to_json() for name, m in self.measurements.items()},
            "skipped": self.skipped,
            "errors": self.errors,
            "charts": self.charts,
        }

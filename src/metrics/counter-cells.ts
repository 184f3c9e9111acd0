/**
 * Counts of a prom-client Counter kept as plain numbers on the per-event path and added to
 * the Counter when the metrics are read (AgentMetrics.onRead): an increment is a property
 * write instead of prom-client's label hashing.
 */
import type * as client from "prom-client";

export interface Cell {
  n: number;
}

export class CounterCells<L extends string> {
  private readonly cells: Array<{ labels: Partial<Record<L, string>>; cell: Cell }> = [];

  constructor(private readonly counter: client.Counter<L>) {}

  /** A new cell for one label set; the caller keeps it to count into. */
  cell(labels: Partial<Record<L, string>>): Cell {
    const cell = { n: 0 };
    this.cells.push({ labels, cell });
    return cell;
  }

  flush(): void {
    for (const { labels, cell } of this.cells) {
      if (cell.n === 0) continue;
      this.counter.inc(labels, cell.n);
      cell.n = 0;
    }
  }
}

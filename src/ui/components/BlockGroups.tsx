/**
 * Long layer lists grouped by block. A 135M model has 210 linears (30 blocks × 7): rendered flat,
 * every result or progress event re-renders hundreds of rows and the list is hard to read. Grouped,
 * a collapsed block is one summary row; a filter and the selected layer open the blocks they need.
 * Models with few blocks keep the flat list (every row visible, no summary rows).
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { shortLayer } from '../format';

/** Lists of more blocks than this are grouped, each block collapsed until opened. */
export const GROUP_ABOVE_BLOCKS = 8;

export interface BlockGroup<T> {
  block: number;
  items: T[];
}

/** Items grouped by block, blocks in order of first appearance, items in their given order. */
export function groupByBlock<T>(items: readonly T[], blockOf: (item: T) => number): BlockGroup<T>[] {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const b = blockOf(item);
    let list = groups.get(b);
    if (!list) groups.set(b, (list = []));
    list.push(item);
  }
  return [...groups].map(([block, list]) => ({ block, items: list }));
}

/**
 * Whether a layer matches the filter: a bare number is a block; anything else a case-insensitive
 * part of the module path or its short form ("3 · mlp.down_proj").
 */
export function matchesLayer(query: string, id: string, block: number, role?: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  if (/^\d+$/.test(q)) return block === Number(q);
  return id.toLowerCase().includes(q) || shortLayer(id).toLowerCase().includes(q) || role?.toLowerCase() === q;
}

export interface BlockExpansion {
  grouped: boolean;
  isOpen: (block: number) => boolean;
  toggle: (block: number) => void;
  setAll: (open: boolean) => void;
}

/**
 * Which blocks are open: every block while a filter is set or the list is not grouped; otherwise
 * what the user chose, and by default only the block of the selected layer.
 */
export function useBlockExpansion(blocks: readonly number[], focusBlock: number | null, filtering: boolean): BlockExpansion {
  const grouped = blocks.length > GROUP_ABOVE_BLOCKS;
  const [chosen, setChosen] = useState<ReadonlyMap<number, boolean>>(new Map());
  const isOpen = (b: number) => !grouped || filtering || (chosen.get(b) ?? b === focusBlock);
  return {
    grouped,
    isOpen,
    toggle: (b) => setChosen((m) => new Map(m).set(b, !isOpen(b))),
    setAll: (open) => setChosen(new Map(blocks.map((b) => [b, open]))),
  };
}

/** A block's summary row: the toggle and name in the first cell, the caller's summary cells after it. */
export function BlockHeaderRow({ block, open, onToggle, children }: { block: number; open: boolean; onToggle: () => void; children: ReactNode }) {
  const row = useRef<HTMLTableRowElement>(null);
  const toggled = useRef(false);
  const toggle = () => {
    toggled.current = true;
    onToggle();
  };
  // A block the user opens is scrolled into view with its rows (not one a filter or selection opens).
  useEffect(() => {
    if (toggled.current && open) row.current?.parentElement?.scrollIntoView({ block: 'nearest' });
    toggled.current = false;
  }, [open]);
  return (
    <tr ref={row} className="block-row" data-testid="block-row" data-block={block} data-open={open} onClick={toggle}>
      <td>
        <button
          type="button"
          className="block-toggle"
          aria-expanded={open}
          aria-label={`${open ? 'Collapse' : 'Expand'} block ${block}`}
          onClick={(e) => {
            e.stopPropagation();
            toggle();
          }}
        >
          {open ? '▾' : '▸'}
        </button>
        Block {block}
      </td>
      {children}
    </tr>
  );
}

/** The filter box over a layer list, with how many rows match and expand/collapse-all for grouped lists. */
export function LayerFilter({ query, onQuery, shown, total, expansion }: { query: string; onQuery: (q: string) => void; shown: number; total: number; expansion: BlockExpansion }) {
  return (
    <div className="layer-filter">
      <input
        type="search"
        data-testid="layer-filter"
        placeholder="Filter: block, module or role (12, down_proj, q)"
        aria-label="Filter layers"
        value={query}
        onChange={(e) => onQuery(e.target.value)}
      />
      <span className="muted small" data-testid="layer-filter-count">
        {query.trim() ? `${shown} of ${total} match` : `${total} ${total === 1 ? 'row' : 'rows'}`}
      </span>
      {expansion.grouped && !query.trim() ? (
        <span className="layer-filter-actions">
          <button type="button" className="link" data-testid="expand-all" onClick={() => expansion.setAll(true)}>
            Expand all
          </button>
          <button type="button" className="link" data-testid="collapse-all" onClick={() => expansion.setAll(false)}>
            Collapse all
          </button>
        </span>
      ) : null}
    </div>
  );
}

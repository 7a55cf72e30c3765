/**
 * Every finished layer result in one table, grouped by block for long lists (each block one summary
 * row: sparsity, worst relative error, status); a click opens the layer view below it.
 */
import { useMemo, useState } from 'react';
import { LayerPanel } from '../layer/LayerPanel';
import { formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { methodLabel } from '../../shared/methods';
import type { LayerOutcome } from '../../shared/outcome';
import { allLayerOutcomes } from '../report';
import { useLive } from '../stores/live';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { num, TableHead } from '../components/Table';
import { BlockHeaderRow, groupByBlock, LayerFilter, matchesLayer, useBlockExpansion } from '../components/BlockGroups';
import { LinearMarks } from '../layer/linearNotes';
import { HealthBadge, warningsOf } from '../layer/HealthNotes';
import type { LinearSummary } from '../../worker/protocol';
import { Help } from '../help/Help';

const COLUMNS = ['layer', 'run', 'method', 'pattern', num('out × in'), num('sparsity'), num('rel. error', '‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖² on the calibration inputs'), num('iterations'), num('time')];

/** A block's results at a glance: sparsity over its weights, the worst relative error, how many of its linears have one. */
function BlockSummary({ rows, linears, running }: { rows: LayerOutcome[]; linears: number; running: boolean }) {
  const weights = rows.reduce((a, r) => a + r.shape[0] * r.shape[1], 0);
  const sparsity = rows.reduce((a, r) => a + r.sparsity * r.shape[0] * r.shape[1], 0) / Math.max(1, weights);
  const worst = rows.reduce((a, r) => Math.max(a, r.relError), 0);
  const layers = new Set(rows.map((r) => r.id)).size;
  const status = running ? 'running' : layers >= linears ? 'done' : 'partial';
  return (
    <>
      <td colSpan={3} className="block-status" data-testid="block-status" data-status={status}>
        <span className={`method-dot s-${status}`} />
        {layers} of {linears} layers{running ? ' · running' : ''}
        {rows.length > layers ? <span className="muted"> · {rows.length} results</span> : null}
        <HealthBadge warnings={rows.flatMap(warningsOf)} />
      </td>
      <td />
      <td className="num" data-testid="block-sparsity">{formatPercent(sparsity)}</td>
      <td className="num" data-testid="block-worst-error" title="worst relative error in the block">
        max {formatSci(worst, 3)}
      </td>
      <td />
      <td className="num">{formatMs(rows.reduce((a, r) => a + r.ms, 0))}</td>
    </>
  );
}

function ResultRow({ r, selected, linear, onSelect }: { r: LayerOutcome; selected: boolean; linear: LinearSummary | undefined; onSelect: () => void }) {
  return (
    <tr className={selected ? 'selected' : ''} data-testid="result-row" data-layer={r.id} data-method={r.method} onClick={onSelect}>
      <td title={r.id}>
        {shortLayer(r.id)}
        <LinearMarks linear={linear} />
        <HealthBadge warnings={warningsOf(r)} />
      </td>
      <td>{r.run === 'model' ? 'whole model' : 'layer'}</td>
      <td>
        <span className={`method-dot m-${r.method}`} />
        {methodLabel(r.method)}
      </td>
      <td>{r.pattern}</td>
      <td className="num">
        {r.shape[0]} × {r.shape[1]}
      </td>
      <td className="num">{formatPercent(r.sparsity)}</td>
      <td className="num">{formatSci(r.relError, 4)}</td>
      <td className="num">{r.iterations}</td>
      <td className="num">{formatMs(r.ms)}</td>
    </tr>
  );
}

export function LayersTab() {
  const layerRuns = useResults((s) => s.layerRuns);
  const modelRun = useResults((s) => s.modelRun);
  const selected = useResults((s) => s.selected);
  const select = useResults((s) => s.select);
  const model = useSession((s) => s.model);
  const liveLayer = useLive((s) => s.layer);
  const [query, setQuery] = useState('');
  const linears = model?.linears;
  const { linearById, perBlock } = useMemo(() => {
    const byId = new Map((linears ?? []).map((l) => [l.id, l]));
    const counts = new Map<number, number>();
    for (const l of linears ?? []) counts.set(l.block, (counts.get(l.block) ?? 0) + 1);
    return { linearById: byId, perBlock: counts };
  }, [linears]);
  const rows = useMemo(() => {
    const order = new Map((linears ?? []).map((l, i) => [l.id, i]));
    return allLayerOutcomes({ layerRuns, modelRun }).sort(
      (a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0) || (a.run === b.run ? 0 : a.run === 'model' ? -1 : 1) || a.method.localeCompare(b.method),
    );
  }, [layerRuns, modelRun, linears]);
  const groups = useMemo(() => groupByBlock(rows, (r) => r.block), [rows]);
  const current = selected ? rows.find((r) => r.id === selected.layer && r.method === selected.method && r.run === selected.run) : undefined;
  const filtering = query.trim() !== '';
  const expansion = useBlockExpansion(
    groups.map((g) => g.block),
    current?.block ?? null,
    filtering,
  );
  if (!rows.length) return <p className="empty">No layer has been pruned yet. Prune a layer, compare methods on one, or prune the whole model.</p>;
  const liveBlock = liveLayer ? linearById.get(liveLayer)?.block : undefined;
  const visible = groups.map((g) => ({ ...g, matching: filtering ? g.items.filter((r) => matchesLayer(query, r.id, r.block, linearById.get(r.id)?.role)) : g.items }));
  const shown = visible.reduce((a, g) => a + g.matching.length, 0);
  return (
    <div className="stack">
      <section className="panel">
        <h3>
          Pruned layers <span className="muted">(click a row to open the layer{expansion.grouped ? ', a block to open or close it' : ''})</span>
          <Help topic="layers-table" />
        </h3>
        <LayerFilter query={query} onQuery={setQuery} shown={shown} total={rows.length} expansion={expansion} />
        <div className="table-scroll layer-list" data-testid="layer-list">
          <table className="table clickable" data-testid="results-table">
            <TableHead columns={COLUMNS} />
            {visible.map(({ block, items, matching }) => {
              if (!matching.length) return null;
              const open = expansion.isOpen(block);
              return (
                <tbody key={block} data-block={block}>
                  {expansion.grouped ? (
                    <BlockHeaderRow block={block} open={open} onToggle={() => expansion.toggle(block)}>
                      <BlockSummary rows={items} linears={perBlock.get(block) ?? items.length} running={liveBlock === block} />
                    </BlockHeaderRow>
                  ) : null}
                  {open
                    ? matching.map((r) => (
                        <ResultRow key={`${r.run}|${r.id}|${r.method}`} r={r} selected={current === r} linear={linearById.get(r.id)} onSelect={() => select({ layer: r.id, method: r.method, run: r.run })} />
                      ))
                    : null}
                </tbody>
              );
            })}
          </table>
          {filtering && shown === 0 ? <p className="muted">No pruned layer matches “{query.trim()}”.</p> : null}
        </div>
      </section>
      {current ? <LayerPanel result={current} onClose={() => select(null)} /> : null}
    </div>
  );
}

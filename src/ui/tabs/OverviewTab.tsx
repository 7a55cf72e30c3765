/**
 * The loaded model: architecture, size, dtype, blocks, every linear layer with its shape (grouped by
 * block for long lists, the selected layer's block open); the GPU.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { exportLayerProblem } from '../actions';
import { formatCount, shortLayer } from '../format';
import { allLayerOutcomes } from '../report';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';
import { Fact, num, TableHead } from '../components/Table';
import { BlockHeaderRow, groupByBlock, LayerFilter, matchesLayer, useBlockExpansion } from '../components/BlockGroups';
import { LinearMarks } from '../layer/linearNotes';
import type { LinearSummary } from '../../worker/protocol';
import { BudgetEditor } from '../budget/BudgetEditor';

function LinearRow({ l, selected, exportDisabled, onSelect }: { l: LinearSummary; selected: boolean; exportDisabled: boolean; onSelect: () => void }) {
  return (
    <tr className={selected ? 'selected' : ''} data-testid="linear-row" data-layer={l.id} onClick={onSelect}>
      <td>{l.block}</td>
      <td title={l.id}>
        {shortLayer(l.id).replace(/^\d+ · /, '')}
        <LinearMarks linear={l} />
      </td>
      <td>{l.role}</td>
      <td className="num">
        {l.shape[0]} × {l.shape[1]}
      </td>
      <td className="num">{formatCount(l.shape[0] * l.shape[1])}</td>
      <td className="num">
        <button
          type="button"
          className="link"
          disabled={exportDisabled}
          title="Download this layer's weight and calibration gram as a layer problem file (.safetensors) for the prune-layer command."
          onClick={(e) => {
            e.stopPropagation();
            void exportLayerProblem(l.id);
          }}
        >
          Export problem
        </button>
      </td>
    </tr>
  );
}

export function OverviewTab() {
  const model = useSession((s) => s.model);
  const gpu = useSession((s) => s.gpu);
  const loading = useSession((s) => s.loading);
  const busy = useSession((s) => s.job !== null);
  const setLayer = useSettings((s) => s.set);
  const selected = useSettings((s) => s.layer);
  const layerRuns = useResults((s) => s.layerRuns);
  const modelRun = useResults((s) => s.modelRun);
  const [query, setQuery] = useState('');
  const list = useRef<HTMLDivElement>(null);
  const linears = model?.linears;
  const groups = useMemo(() => groupByBlock(linears ?? [], (l) => l.block), [linears]);
  const pruned = useMemo(() => new Set(allLayerOutcomes({ layerRuns, modelRun }).map((r) => r.id)), [layerRuns, modelRun]);
  const selectedBlock = linears?.find((l) => l.id === selected)?.block ?? null;
  const filtering = query.trim() !== '';
  const expansion = useBlockExpansion(
    groups.map((g) => g.block),
    selectedBlock,
    filtering,
  );
  // Choosing a layer elsewhere (the sidebar's layer menu) opens its block; bring its row into view.
  useEffect(() => {
    list.current?.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }, [selected]);
  if (!model) {
    return <p className="empty">{loading ? `Loading ${loading}…` : 'No model loaded yet. Load the bundled default model or drop a model folder on the left.'}</p>;
  }
  const linearParams = model.linears.reduce((a, l) => a + l.shape[0] * l.shape[1], 0);
  const visible = groups.map((g) => ({ ...g, matching: filtering ? g.items.filter((l) => matchesLayer(query, l.id, l.block, l.role)) : g.items }));
  const shown = visible.reduce((a, g) => a + g.matching.length, 0);
  const exportDisabled = busy || gpu.state === 'unavailable';
  return (
    <div className="stack">
      <section className="panel" data-testid="model-summary">
        <h3>{model.name}</h3>
        <dl className="facts">
          <Fact label="architecture" testId="model-arch">{model.architecture}</Fact>
          <Fact label="parameters" testId="model-params">{formatCount(model.parameters)}</Fact>
          <Fact label="in linear layers">{formatCount(linearParams)}</Fact>
          <Fact label="dtype" testId="model-dtype">{model.dtype}</Fact>
          <Fact label="blocks" testId="model-blocks">{model.blocks}</Fact>
          <Fact label="hidden size">{model.hidden}</Fact>
          <Fact label="vocabulary">{model.vocabSize.toLocaleString()}</Fact>
          <Fact label="context">{model.contextLength.toLocaleString()} tokens</Fact>
          <Fact label="GPU adapter" testId="gpu-adapter">{gpu.state === 'ready' ? [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' · ') || 'unnamed adapter' : gpu.state === 'checking' ? 'checking…' : 'not available'}</Fact>
        </dl>
        <p className="muted small">
          Files: {model.files.join(', ')}
          {model.hasTokenizer ? '' : ' — no tokenizer.json, so calibration and evaluation are not possible.'}
        </p>
        {gpu.state === 'ready' && gpu.adapter.swiftshader ? (
          <p className="hint">This adapter is SwiftShader, a CPU implementation of the GPU: it works, but slowly. Keep calibration small.</p>
        ) : null}
      </section>
      <BudgetEditor />
      <section className="panel">
        <h3>
          Linear layers <span className="muted">({model.linears.length}, in pruning order within each block)</span>
        </h3>
        <LayerFilter query={query} onQuery={setQuery} shown={shown} total={model.linears.length} expansion={expansion} />
        <div className="table-scroll layer-list" data-testid="linear-list" ref={list}>
          <table className="table" data-testid="linears-table">
            <TableHead columns={['block', 'module', 'role', num('out × in'), num('weights'), '']} />
            {visible.map(({ block, items, matching }) => {
              if (!matching.length) return null;
              const open = expansion.isOpen(block);
              const done = items.filter((l) => pruned.has(l.id)).length;
              return (
                <tbody key={block} data-block={block}>
                  {expansion.grouped ? (
                    <BlockHeaderRow block={block} open={open} onToggle={() => expansion.toggle(block)}>
                      <td colSpan={2} className="muted">{items.length} linears</td>
                      <td />
                      <td className="num">{formatCount(items.reduce((a, l) => a + l.shape[0] * l.shape[1], 0))}</td>
                      <td className="num block-status" data-testid="block-status" data-status={done === 0 ? 'dense' : done >= items.length ? 'done' : 'partial'}>
                        <span className={`method-dot s-${done === 0 ? 'dense' : done >= items.length ? 'done' : 'partial'}`} />
                        {done === 0 ? 'dense' : `${done} of ${items.length} pruned`}
                      </td>
                    </BlockHeaderRow>
                  ) : null}
                  {open ? matching.map((l) => <LinearRow key={l.id} l={l} selected={l.id === selected} exportDisabled={exportDisabled} onSelect={() => setLayer({ layer: l.id })} />) : null}
                </tbody>
              );
            })}
          </table>
          {filtering && shown === 0 ? <p className="muted">No linear layer matches “{query.trim()}”.</p> : null}
        </div>
      </section>
    </div>
  );
}

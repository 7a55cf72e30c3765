/**
 * Relative error of every layer of a whole-model run, in pruning order (bars grow as layers finish).
 * Deep models get one bar per block (its worst layer): 210 bars are unreadable, and redrawing them
 * as each layer finished blocked the page for hundreds of milliseconds.
 */
import { memo, useEffect, useRef, useState } from 'react';
import { methodColor } from '../../shared/methods';
import type { LayerOutcome } from '../../shared/outcome';
import { shortLayer } from '../format';
import { LogBarChart, type BarRow } from './LogBarChart';

interface Props {
  results: LayerOutcome[];
  total: number;
  title: string;
  onSelect?: (result: LayerOutcome) => void;
}

/** Runs of more layers than this are charted per block. */
const PER_BLOCK_ABOVE = 64;

function bar(r: LayerOutcome, label: string): BarRow<LayerOutcome> {
  return { label, value: Math.max(r.relError, 1e-12), color: methodColor(r.method), item: r };
}

/** The worst layer of each block, in block order. */
function worstPerBlock(results: LayerOutcome[]): BarRow<LayerOutcome>[] {
  const worst = new Map<number, LayerOutcome>();
  for (const r of results) {
    const w = worst.get(r.block);
    if (!w || r.relError > w.relError) worst.set(r.block, r);
  }
  return [...worst].map(([block, r]) => bar(r, `block ${block}`));
}

/** While a deep run streams in, the bars are redrawn at most this often. */
const REDRAW_MS = 250;

function LayerErrorBars({ results, total, title, onSelect }: Props) {
  const perBlock = total > PER_BLOCK_ABOVE;
  const rows = perBlock ? worstPerBlock(results) : results.map((r) => bar(r, shortLayer(r.id)));
  return (
    <LogBarChart
      testId="model-layer-chart"
      title={
        <>
          {title} <span className="muted">({results.length} of {total} layers)</span>
        </>
      }
      rows={rows}
      points={results.length}
      name={perBlock ? 'worst relative error in the block' : 'relative error'}
      emptyText="The first layer is being calibrated…"
      layout={{ height: 260, emptyHeight: 240, top: 8, bottom: 70 }}
      xAxis={{ interval: 0, angle: -50, textAnchor: 'end', tick: { fontSize: 10 }, height: 70 }}
      maxBarSize={48}
      onSelect={onSelect}
      caption={
        perBlock
          ? 'One bar per block: its worst layer (click to open it); the Layers tab lists every layer. Later blocks see inputs from the already pruned ones.'
          : 'Layers in pruning order (block · module); later layers see inputs from the already pruned ones.'
      }
    />
  );
}

/** Redrawn only when its results, run or title change; `onSelect` is the caller's same action each time, so a new closure is no change. */
const Bars = memo(LayerErrorBars, (a, b) => a.results === b.results && a.total === b.total && a.title === b.title);

/**
 * `value`, but passed on at most every `ms` while `throttle` holds (the last one always arrives):
 * a run finishing layers faster than that is drawn in steps, not once per layer.
 */
function useThrottled<T>(value: T, ms: number, throttle: boolean): T {
  const [shown, setShown] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = throttle ? last.current + ms - performance.now() : 0;
    const pass = () => {
      last.current = performance.now();
      setShown(value);
    };
    if (wait <= 0) return pass();
    const timer = setTimeout(pass, wait);
    return () => clearTimeout(timer);
  }, [value, ms, throttle]);
  return throttle ? shown : value;
}

export function LayerErrorChart(props: Props) {
  // Small models redraw per layer (their tests read the count right after a run); deep ones in steps, whole once done.
  const results = useThrottled(props.results, REDRAW_MS, props.total > PER_BLOCK_ABOVE && props.results.length < props.total);
  return <Bars {...props} results={results} />;
}

/** Every method on the same layer with the same settings: final errors side by side, curves overlaid. */
import { Bar, BarChart, CartesianGrid, Cell, LabelList, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { LogLineChart, logAxis, type Point } from '../charts/LogLineChart';
import { formatMs, formatPercent, formatPow10, formatSci, METHOD_COLOR, METHOD_LABEL, shortLayer } from '../format';
import { useLive } from '../stores/live';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';

export function CompareTab() {
  const compare = useResults((s) => s.compare);
  const layerRuns = useResults((s) => s.layerRuns);
  const job = useSession((s) => s.job);
  const live = useLive();
  const running = job?.kind === 'compareLayer';
  // While the comparison runs, show the methods finished so far (they land in layerRuns first).
  const since = job?.startedAt ?? 0;
  const results = running ? layerRuns.filter((r) => r.finishedAt >= since && r.id === job.progress?.layer) : (compare?.results ?? []);
  const layer = running ? job.progress?.layer : compare?.layer;

  if (!results.length && !running) {
    return <p className="empty">Choose a layer on the left and press “Compare all methods on it”: ALPS, SparseGPT, Wanda and magnitude run on the same layer problem with the same settings.</p>;
  }
  const bars = results.map((r) => ({ method: METHOD_LABEL[r.method], key: r.method, relError: Math.max(r.relError, 1e-12) }));
  const axis = logAxis(bars.map((b) => b.relError));
  const alps = results.find((r) => r.method === 'alps');
  const history = alps ? alps.history : running && live.method === 'alps' ? live.iterations : [];
  const curve: Point[] = history.map((h) => ({ x: h.iter, alps: h.relError }));
  const refLines = results
    .filter((r) => r.method !== 'alps')
    .map((r) => ({ y: r.relError, label: METHOD_LABEL[r.method], color: METHOD_COLOR[r.method] }));
  if (alps) refLines.push({ y: alps.relError, label: 'ALPS after PCG', color: METHOD_COLOR.alps });
  const best = results.length ? results.reduce((a, b) => (b.relError < a.relError ? b : a)) : null;

  return (
    <div className="stack">
      <section className="panel" data-testid="compare-panel">
        <h3>
          Methods on {layer ? shortLayer(layer) : '…'} <span className="muted">· {results[0]?.pattern ?? ''} {results[0] ? `· target sparsity ${formatPercent(results[0].targetSparsity, 0)}` : ''}</span>
        </h3>
        <div className="chart-grid">
          <figure className="chart" data-testid="compare-bars" data-points={bars.length}>
            <figcaption className="chart-title">Final relative error (lower is better)</figcaption>
            {bars.length ? (
              <ResponsiveContainer width="100%" height={240}>
                <BarChart data={bars} margin={{ top: 20, right: 16, bottom: 22, left: 18 }}>
                  <CartesianGrid stroke="#e5e7eb" vertical={false} />
                  <XAxis dataKey="method" tick={{ fontSize: 12 }} label={{ value: 'method', position: 'insideBottom', offset: -12, fontSize: 12, fill: '#374151' }} />
                  <YAxis
                    scale="log"
                    domain={axis.domain}
                    ticks={axis.ticks}
                    allowDataOverflow
                    tickFormatter={formatPow10}
                    tick={{ fontSize: 11 }}
                    width={54}
                    label={{ value: 'relative error (ratio)', angle: -90, position: 'insideLeft', offset: -8, fontSize: 12, fill: '#374151', style: { textAnchor: 'middle' } }}
                  />
                  <Tooltip formatter={(v) => formatSci(Number(v), 4)} isAnimationActive={false} />
                  <Bar dataKey="relError" name="relative error" isAnimationActive={false}>
                    {bars.map((b) => (
                      <Cell key={b.key} fill={METHOD_COLOR[b.key]} />
                    ))}
                    <LabelList dataKey="relError" position="top" formatter={(v: unknown) => formatSci(Number(v), 3)} style={{ fontSize: 11, fill: '#374151' }} />
                  </Bar>
                </BarChart>
              </ResponsiveContainer>
            ) : (
              <div className="chart-empty" style={{ height: 240 }}>
                Waiting for the first method…
              </div>
            )}
          </figure>
          <LogLineChart
            testId="compare-curves"
            title="ALPS error per iteration vs the one-pass methods"
            data={curve}
            series={[{ key: 'alps', name: 'ALPS (ADMM iterate)', color: METHOD_COLOR.alps }]}
            refLines={refLines}
            xLabel="ADMM iteration"
            yLabel="relative error (ratio)"
            height={240}
            emptyText="ALPS's curve appears when it runs."
          />
        </div>
        <table className="table" data-testid="compare-table">
          <thead>
            <tr>
              <th>method</th>
              <th className="num">rel. error</th>
              <th className="num">vs best</th>
              <th className="num">sparsity</th>
              <th className="num">iterations</th>
              <th className="num">time</th>
            </tr>
          </thead>
          <tbody>
            {results.map((r) => (
              <tr key={r.method} data-method={r.method}>
                <td>
                  <span className={`method-dot m-${r.method}`} />
                  {METHOD_LABEL[r.method]}
                  {best === r ? <span className="badge">best</span> : null}
                </td>
                <td className="num">{formatSci(r.relError, 4)}</td>
                <td className="num">{best ? `${(r.relError / best.relError).toFixed(2)}×` : '–'}</td>
                <td className="num">{formatPercent(r.sparsity)}</td>
                <td className="num">{r.iterations}</td>
                <td className="num">{formatMs(r.ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

/** The structured (SPAP) run: parameters before/after, which channels each block kept, per-block errors and penalty paths. */
import { useState } from 'react';
import { downloadChannelReport } from '../actions';
import { ChannelMap } from '../channels/ChannelMap';
import { HeadMap } from '../channels/HeadMap';
import { SpapCharts } from '../charts/SpapCharts';
import type { StructuredRunSummary } from '../../worker/protocol';
import { capitalise, formatCount, formatMs, formatPercent, formatSci, shortLayer } from '../format';
import { methodLabel } from '../../shared/methods';
import { configFieldLabel } from '../labels';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { Fact, num, TableHead } from '../components/Table';
import { Help } from '../help/Help';

export function ChannelsTab() {
  const run = useResults((s) => s.structuredRun);
  const partial = useResults((s) => s.structuredPartial);
  const history = useResults((s) => s.structuredHistory);
  const job = useSession((s) => s.job);
  const model = useSession((s) => s.model);
  const [selected, setSelected] = useState<number | null>(null);
  const running = job?.kind === 'pruneStructured';
  const blocks = running ? partial : (run?.report ?? []);
  if (!running && !run) {
    return <p className="empty">No structured run yet. Choose SPAP under Pruning and press “Prune the whole model”: each block's MLP channels are chosen and removed, and this tab shows which ones were kept.</p>;
  }
  const current = blocks.find((b) => b.block === selected) ?? null;
  const settings = run && !running ? run.settings : null;
  return (
    <div className="stack">
      <section className="panel" data-testid="structured-summary">
        <h3>
          {running ? 'Structured run in progress' : `${capitalise(methodLabel(settings!.selection))} · ${formatPercent(settings!.fraction, 0)} of MLP channels removed`}
          {settings?.heads && run?.heads?.length ? <span data-testid="heads-removed"> · {run.heads[0].removed.length} of {run.heads[0].groups} key/value groups removed</span> : null}
          {run && !running ? <span className="muted"> · calibration {run.calibration.nsamples} × {run.calibration.seqlen} tokens</span> : null}
          <Help topic="channels" />
        </h3>
        {run && !running ? (
          <dl className="facts">
            <Fact label="parameters before" testId="params-before" value={run.parameters.before}>{formatCount(run.parameters.before)}</Fact>
            <Fact label="parameters after" testId="params-after" value={run.parameters.after}>{formatCount(run.parameters.after)} <span className="muted">({formatPercent(run.parameters.after / run.parameters.before - 1)})</span></Fact>
            <Fact label={<span title={`config.json: ${run.width.field}`}>{configFieldLabel(run.width.field)}</span>} testId="mlp-width">{run.width.before} → {run.width.after}</Fact>
            <Fact label="mean refit error">{formatSci(run.report.reduce((a, b) => a + b.relError, 0) / Math.max(1, run.report.length), 3)}</Fact>
            <Fact label="time">{formatMs(run.ms)}</Fact>
          </dl>
        ) : (
          <p className="muted">{partial.length} of {model?.blocks ?? '…'} blocks done; the map fills in as blocks finish.</p>
        )}
      </section>
      <section className="panel">
        <ChannelMap blocks={blocks} total={model?.blocks ?? blocks.length} />
      </section>
      {run && !running && run.heads?.length ? (
        <section className="panel">
          <HeadMap blocks={run.heads} />
        </section>
      ) : null}
      <section className="panel">
        <header className="panel-header">
          <h3>
            Blocks <span className="muted">(click a row for its penalty path)</span>
          </h3>
          {run && !running ? (
            <button type="button" className="button secondary small" data-testid="channel-report-csv" onClick={downloadChannelReport}>
              Channel report as CSV
            </button>
          ) : null}
        </header>
        <table className="table clickable" data-testid="blocks-table">
          <TableHead columns={['block', 'layer refit', 'selection', num('kept / channels'), num('refit error', '‖X(W−W₀)ᵀ‖² / ‖XW₀ᵀ‖² of down_proj after the refit'), num('penalty steps'), num(<>final <span style={{ textTransform: 'none' }}>ρ</span></>, 'the penalty ρ at the last step'), num('time')]} />
          <tbody>
            {blocks.map((b) => (
              <tr key={b.block} data-testid="block-row" className={b.block === selected ? 'selected' : ''} onClick={() => setSelected(b.block === selected ? null : b.block)}>
                <td>{b.block}</td>
                <td title={b.layer}>{shortLayer(b.layer)}</td>
                <td>{methodLabel(b.selection)}</td>
                <td className="num">
                  {b.kept.length} / {b.channels}
                </td>
                <td className="num">{formatSci(b.relError, 4)}</td>
                <td className="num">{b.steps.length || '–'}</td>
                <td className="num">{b.steps.length ? formatSci(b.steps[b.steps.length - 1].rho, 3) : '–'}</td>
                <td className="num">{formatMs(b.ms)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {history.length >= 2 ? <RunsCompared runs={history} /> : null}
      {current ? (
        <section className="panel" data-testid="block-panel">
          <header className="panel-header">
            <h3>
              Block {current.block} <span className="muted">· {methodLabel(current.selection)} · {current.removed.length} channels removed</span>
            </h3>
            <button type="button" className="link" onClick={() => setSelected(null)}>
              Close
            </button>
          </header>
          {headSteps(run, running, current.block).length ? (
            <>
              <h4>Key/value group selection (o_proj)</h4>
              <SpapCharts steps={headSteps(run, running, current.block)} idPrefix="spap-heads" height={190} unit="groups" />
              <h4>MLP channel selection (down_proj)</h4>
            </>
          ) : null}
          {current.steps.length ? (
            <SpapCharts steps={current.steps} idPrefix="spap-block" height={190} />
          ) : (
            <p className="muted">{capitalise(methodLabel(current.selection))} ranks the channels in one pass: there is no penalty path to chart.</p>
          )}
        </section>
      ) : null}
    </div>
  );
}

/** The penalty path of a finished run's key/value group selection in one block (none while running, or without heads). */
function headSteps(run: StructuredRunSummary | null, running: boolean, block: number) {
  return (!running && run?.heads?.find((h) => h.block === block)?.steps) || [];
}

/** Recent structured runs side by side: with the same fraction and calibration, the refit errors isolate the channel selection. */
function RunsCompared({ runs }: { runs: StructuredRunSummary[] }) {
  const rows = [...runs].reverse();
  const mean = (r: StructuredRunSummary) => r.report.reduce((a, b) => a + b.relError, 0) / Math.max(1, r.report.length);
  return (
    <section className="panel">
      <h3>
        Structured runs compared <span className="muted">(newest first; same fraction and calibration isolate the selection)</span>
      </h3>
      <table className="table" data-testid="structured-history">
        <TableHead columns={['selection', num('channels removed'), num('calibration'), num('mean refit error', "Mean over blocks of down_proj's refit error"), num('worst block'), num('parameters after'), num('time')]} />
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.finishedAt} data-testid="structured-history-row" data-selection={r.settings.selection}>
              <td>
                {capitalise(methodLabel(r.settings.selection))}
                {i === 0 ? <span className="badge">current</span> : null}
              </td>
              <td className="num">{formatPercent(r.settings.fraction, 0)}</td>
              <td className="num">
                {r.calibration.nsamples} × {r.calibration.seqlen}
                {r.calibration.textSource === 'default' ? '' : ' (custom)'}
              </td>
              <td className="num">{formatSci(mean(r), 4)}</td>
              <td className="num">{formatSci(Math.max(...r.report.map((b) => b.relError)), 4)}</td>
              <td className="num">{formatCount(r.parameters.after)}</td>
              <td className="num">{formatMs(r.ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Keeping and sharing: the pruned model's files, the report, layer problem files, a link to these settings. */
import { useState } from 'react';
import { clearResults, downloadReport, exportLayerProblem, prepareModelDownload } from '../actions';
import { formatBytes, shortLayer } from '../format';
import { useDownloads } from '../stores/downloads';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { settingsToQuery, useSettings } from '../stores/settings';

export function DownloadTab() {
  const model = useSession((s) => s.model);
  const busy = useSession((s) => s.job !== null);
  const gpu = useSession((s) => s.gpu);
  const modelRun = useResults((s) => s.modelRun);
  const layerRuns = useResults((s) => s.layerRuns);
  const files = useDownloads((s) => s.model);
  const layer = useSettings((s) => s.layer);
  const query = useSettings((s) => settingsToQuery(s));
  const link = `${location.origin}${location.pathname}${query}`;
  const [copied, setCopied] = useState(false);
  if (!model) return <p className="empty">Load a model first.</p>;
  const hasResults = !!modelRun || layerRuns.length > 0;
  return (
    <div className="stack">
      <section className="panel">
        <h3>Pruned model</h3>
        {modelRun ? (
          <>
            <p>
              The whole-model run's weights in the checkpoint's own names, dtypes and shapes (pruned entries exactly zero), with <code>config.json</code>, the tokenizer files and{' '}
              <code>prune_report.json</code>.
            </p>
            <button type="button" className="button" data-testid="prepare-download" onClick={() => void prepareModelDownload()} disabled={busy}>
              {files.length ? 'Write the files again' : 'Write the pruned model'}
            </button>
            {files.length ? (
              <ul className="file-list" data-testid="download-files">
                {files.map((f) => (
                  <li key={f.name}>
                    <a href={f.url} download={f.name} data-testid={`download-${f.name}`}>
                      {f.name}
                    </a>{' '}
                    <span className="muted">{formatBytes(f.size)}</span>
                  </li>
                ))}
              </ul>
            ) : null}
          </>
        ) : (
          <p className="muted">Prune the whole model first; its files can then be downloaded here.</p>
        )}
      </section>
      <section className="panel">
        <h3>Report</h3>
        <p>Every finished layer result (whole-model and single-layer runs), the comparison, perplexity and generation, with the settings.</p>
        <div className="button-row">
          <button type="button" className="button secondary" data-testid="report-json" onClick={() => downloadReport('json')} disabled={!hasResults}>
            Report as JSON
          </button>
          <button type="button" className="button secondary" data-testid="report-csv" onClick={() => downloadReport('csv')} disabled={!hasResults}>
            Report as CSV
          </button>
        </div>
      </section>
      <section className="panel">
        <h3>Layer problem</h3>
        <p>
          The chosen layer's weight and the gram of its calibration inputs (<code>weight</code>, <code>gram</code> in one .safetensors), for <code>prune-studio prune-layer</code>. Any
          layer can also be exported from the Overview table.
        </p>
        <button type="button" className="button secondary" data-testid="export-problem" onClick={() => layer && void exportLayerProblem(layer)} disabled={!layer || busy || gpu.state === 'unavailable'}>
          Export the problem of {layer ? shortLayer(layer) : '…'}
        </button>
      </section>
      <section className="panel">
        <h3>Share these settings</h3>
        <p>The address bar holds every setting of the run; this link reproduces them (pasted or dropped texts are not included).</p>
        <div className="button-row">
          <code className="url-box" data-testid="settings-url">
            {link}
          </code>
          <button
            type="button"
            className="button secondary"
            onClick={() =>
              void navigator.clipboard?.writeText(link).then(
                () => setCopied(true),
                () => setCopied(false),
              )
            }
          >
            {copied ? 'Copied' : 'Copy link'}
          </button>
        </div>
      </section>
      <section className="panel">
        <h3>Stored results</h3>
        <p>Finished results are kept in this browser (IndexedDB) and come back after a reload of the same model.</p>
        <button type="button" className="button danger" data-testid="clear-results" onClick={() => void clearResults()} disabled={busy || !hasResults}>
          Forget the results of this model
        </button>
      </section>
    </div>
  );
}

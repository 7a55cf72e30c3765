/** Keeping and sharing: the pruned model's files, the report, layer problem files, a link to these settings. */
import { useState } from 'react';
import { clearResults, downloadReport, exportLayerProblem, prepareModelDownload } from '../actions';
import { formatBytes, formatCount, shortLayer } from '../format';
import { structuredRunLabel } from '../labels';
import { folderPicker, saveModelToFolder } from '../longRunActions';
import { useLongRun, type FolderExport } from '../stores/longRun';
import type { PreparedFile } from '../stores/downloads';
import { useDownloads } from '../stores/downloads';
import { useResults } from '../stores/results';
import { useSession } from '../stores/session';
import { settingsToQuery, useSettings } from '../stores/settings';
import { Help } from '../help/Help';
import { CompactDownload } from './evaluate/CompactDownload';

export function DownloadTab() {
  const model = useSession((s) => s.model);
  const busy = useSession((s) => s.job !== null);
  const gpu = useSession((s) => s.gpu);
  const modelRun = useResults((s) => s.modelRun);
  const layerRuns = useResults((s) => s.layerRuns);
  const files = useDownloads((s) => s.model);
  const structuredRun = useResults((s) => s.structuredRun);
  const structuredFiles = useDownloads((s) => s.structured);
  const layer = useSettings((s) => s.layer);
  const query = useSettings((s) => settingsToQuery(s));
  const link = `${location.origin}${location.pathname}${query}`;
  const [copied, setCopied] = useState(false);
  const folderExport = useLongRun((s) => s.folderExport);
  // Chrome and Edge stream the files into a folder; other browsers download them one by one.
  const canPickFolder = folderPicker() !== null;
  if (!model) return <p className="empty">Load a model first.</p>;
  const hasResults = !!modelRun || !!structuredRun || layerRuns.length > 0;
  return (
    <div className="stack">
      <section className="panel">
        <h3>Pruned model <Help topic="download" /></h3>
        {modelRun ? (
          <>
            <p>
              The whole-model run's weights in the checkpoint's own names, dtypes and shapes (pruned entries exactly zero), with <code>config.json</code>, the tokenizer files and{' '}
              <code>prune_report.json</code>.
            </p>
            <div className="button-row">
              {canPickFolder ? (
                <button type="button" className="button" data-testid="save-to-folder" onClick={() => void saveModelToFolder()} disabled={busy}>
                  Save to a folder…
                </button>
              ) : null}
              <button type="button" className={canPickFolder ? 'button secondary' : 'button'} data-testid="prepare-download" onClick={() => void prepareModelDownload()} disabled={busy}>
                {files.length ? 'Write the files again' : canPickFolder ? 'Download the files one by one' : 'Write the pruned model'}
              </button>
            </div>
            <FolderFiles result={folderExport?.which === 'sparse' ? folderExport : null} testId="folder-files" />
            <FileList files={files} testId="download-files" prefix="download" />
            <CompactDownload />
          </>
        ) : (
          <p className="muted">Prune the whole model first; its files can then be downloaded here.</p>
        )}
      </section>
      <section className="panel">
        <h3>Structured (smaller) model</h3>
        {structuredRun ? (
          <>
            <p>
              The last SPAP run ({structuredRunLabel(structuredRun.settings)}): gate/up/down tensors cut to the kept
              channels, <code>config.json</code> with <code>{structuredRun.width.field}</code> {structuredRun.width.before} → {structuredRun.width.after} ({formatCount(structuredRun.parameters.before)} →{' '}
              {formatCount(structuredRun.parameters.after)} parameters), the tokenizer files and <code>prune_report.json</code> with the channels each block kept.
            </p>
            <div className="button-row">
              {canPickFolder ? (
                <button type="button" className="button" data-testid="save-structured-to-folder" onClick={() => void saveModelToFolder('structured')} disabled={busy}>
                  Save to a folder…
                </button>
              ) : null}
              <button type="button" className={canPickFolder ? 'button secondary' : 'button'} data-testid="prepare-structured-download" onClick={() => void prepareModelDownload('structured')} disabled={busy}>
                {structuredFiles.length ? 'Write the files again' : canPickFolder ? 'Download the files one by one' : 'Write the structured model'}
              </button>
            </div>
            <FolderFiles result={folderExport?.which === 'structured' ? folderExport : null} testId="structured-folder-files" />
            <FileList files={structuredFiles} testId="structured-files" prefix="structured" />
          </>
        ) : (
          <p className="muted">Choose SPAP under Pruning and prune the whole model; the smaller checkpoint can then be downloaded here.</p>
        )}
      </section>
      <section className="panel">
        <h3>Report</h3>
        <p>Every finished layer result (whole-model and single-layer runs), the structured run's channels, the comparison, perplexity and generation, with the settings. The CSV has one row per layer result.</p>
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
          layer can also be exported from the table of linear layers in the Model tab.
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

function FileList({ files, testId, prefix }: { files: PreparedFile[]; testId: string; prefix: string }) {
  if (!files.length) return null;
  return (
    <ul className="file-list" data-testid={testId}>
      {files.map((f) => (
        <li key={f.name}>
          <a href={f.url} download={f.name} data-testid={`${prefix}-${f.name}`}>
            {f.name}
          </a>{' '}
          <span className="muted">{formatBytes(f.size)}</span>
        </li>
      ))}
    </ul>
  );
}

/** The files the last export streamed into a folder (nothing to click: they are on disk). */
function FolderFiles({ result, testId }: { result: FolderExport | null; testId: string }) {
  if (!result) return null;
  return (
    <div data-testid={testId}>
      <p className="muted">
        Written into the folder <code>{result.folder}</code>: {result.files.length} files, {formatBytes(result.files.reduce((a, f) => a + f.size, 0))}.
      </p>
      <ul className="file-list">
        {result.files.map((f) => (
          <li key={f.name} data-testid={`folder-file-${f.name}`}>
            {f.name} <span className="muted">{formatBytes(f.size)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

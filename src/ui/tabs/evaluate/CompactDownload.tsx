/** The Download tab's compact option: the pruned model with its sparse weights stored as values plus a bitmask (docs/compact.md). */
import { useState } from 'react';
import { formatBytes } from '../../format';
import { folderPicker } from '../../longRunActions';
import { useSession } from '../../stores/session';
import { prepareCompactDownload, saveCompactToFolder, usePayoff } from './payoffActions';

export function CompactDownload() {
  const busy = useSession((s) => s.job !== null);
  const folder = usePayoff((s) => s.compactFolder);
  const files = usePayoff((s) => s.compactFiles);
  const canPickFolder = folderPicker() !== null;
  const [pack, setPack] = useState(false);
  const total = (list: { size: number }[]) => formatBytes(list.reduce((a, f) => a + f.size, 0));
  return (
    <div data-testid="compact-download">
      <p className="muted">
        Compact: each pruned linear weight stored as its kept values plus a bitmask (compressed-tensors <code>sparse-bitmask</code>, or <code>sparse-24-bitmask</code> for 2:4), declared in{' '}
        <code>config.json</code>. This studio and <code>prune-studio</code> load it back to exactly the same weights.
      </p>
      <label className="hint">
        <input type="checkbox" data-testid="compact-pack" checked={pack} onChange={(e) => setPack(e.target.checked)} /> Pack it too:{' '}
        <span className="muted">
          every tensor deflated by byte plane (<code>model.safetensors.pack</code>, the smallest download, lossless). Only this studio and <code>prune-studio</code> read packed files;{' '}
          <code>prune-studio compact</code> unpacks one to the compressed-tensors folder.
        </span>
      </label>
      <div className="button-row">
        <button type="button" className="button secondary" data-testid="save-compact" onClick={() => void (canPickFolder ? saveCompactToFolder(pack) : prepareCompactDownload(pack))} disabled={busy}>
          {canPickFolder ? `Save ${pack ? 'packed' : 'compact'} to a folder…` : `Write the ${pack ? 'packed' : 'compact'} model`}
        </button>
      </div>
      {folder ? (
        <p className="muted" data-testid="compact-folder-files">
          Written into the folder <code>{folder.folder}</code>: {folder.files.length} files, {total(folder.files)}.
        </p>
      ) : null}
      {files.length ? (
        <ul className="file-list" data-testid="compact-files">
          {files.map((f) => (
            <li key={f.name}>
              <a href={f.url} download={f.name} data-testid={`compact-${f.name}`}>
                {f.name}
              </a>{' '}
              <span className="muted">{formatBytes(f.size)}</span>
            </li>
          ))}
          <li className="muted">total {total(files)}</li>
        </ul>
      ) : null}
    </div>
  );
}

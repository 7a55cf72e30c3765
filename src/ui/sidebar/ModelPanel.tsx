/** Loading a model: drop a folder or its files, pick them, or take the bundled default model. */
import { useState } from 'react';
import { loadDefaultModel, loadModelFiles, reportError } from '../actions';
import { filesFromDrop, filesFromInput } from '../files';
import { useSession } from '../stores/session';

export function ModelPanel() {
  const loading = useSession((s) => s.loading);
  const busy = useSession((s) => s.job !== null);
  const [over, setOver] = useState(false);

  const onDrop = async (e: React.DragEvent) => {
    e.preventDefault();
    setOver(false);
    try {
      const { files, folder } = await filesFromDrop(e.dataTransfer);
      await loadModelFiles(files, folder);
    } catch (error) {
      reportError(error, 'load');
    }
  };
  const onPick = (e: React.ChangeEvent<HTMLInputElement>) => {
    const { files, folder } = filesFromInput(e.target.files);
    e.target.value = '';
    if (files.length) void loadModelFiles(files, folder);
  };

  return (
    <section className="side-section">
      <h2>Model</h2>
      <div
        className={`dropzone${over ? ' over' : ''}`}
        data-testid="model-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => void onDrop(e)}
      >
        <p>
          Drop a Hugging Face model folder here, or its files: <code>config.json</code>, <code>*.safetensors</code>, <code>tokenizer.json</code>, <code>tokenizer_config.json</code>.
        </p>
        <div className="button-row">
          <label className="button secondary">
            Choose files…
            <input type="file" multiple hidden data-testid="model-files-input" onChange={onPick} disabled={busy} />
          </label>
          <label className="button secondary">
            Choose folder…
            <input
              type="file"
              hidden
              data-testid="model-folder-input"
              onChange={onPick}
              disabled={busy}
              {...({ webkitdirectory: '', directory: '' } as Record<string, string>)}
            />
          </label>
        </div>
      </div>
      <button type="button" className="button secondary wide" data-testid="load-default" onClick={() => void loadDefaultModel()} disabled={busy}>
        Load the bundled default model
      </button>
      {loading ? (
        <p className="status-line" data-testid="model-loading">
          <span className="spinner" /> Loading {loading}…
        </p>
      ) : null}
    </section>
  );
}

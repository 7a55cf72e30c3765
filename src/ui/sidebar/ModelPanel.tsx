/**
 * Loading a model: drop a folder or its files, pick them, or take the bundled default model. Once a
 * model is loaded the panel folds to one line (the settings below it then fit on the first screen);
 * "Change…" opens it again, and a drop anywhere on the panel still loads.
 */
import { useEffect, useState } from 'react';
import { loadDefaultModel, loadModelFiles, reportError } from '../actions';
import { filesFromDrop, filesFromInput } from '../files';
import { formatCount } from '../format';
import { Help } from '../help/Help';
import { useSession } from '../stores/session';

export function ModelPanel() {
  const loading = useSession((s) => s.loading);
  const busy = useSession((s) => s.job !== null);
  const model = useSession((s) => s.model);
  const [over, setOver] = useState(false);
  const [expanded, setExpanded] = useState(false);
  const name = model?.name ?? null;
  // A newly loaded model folds the panel again.
  useEffect(() => setExpanded(false), [name]);
  const folded = model !== null && !expanded && !over;

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
    <section
      className="side-section"
      data-tour="model"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      }}
      onDrop={(e) => void onDrop(e)}
    >
      <h2>
        Model <Help topic="model" />
      </h2>
      {model ? (
        <div className="model-line">
          <span className="model-name" data-testid="model-line" title={`${model.name} · ${model.architecture} · ${formatCount(model.parameters)} parameters`}>
            <strong>{model.name}</strong> <span className="muted">· {formatCount(model.parameters)} params</span>
          </span>
          <button type="button" className="link" data-testid="model-change" aria-expanded={!folded} onClick={() => setExpanded(!expanded)}>
            {folded ? 'Change…' : 'Hide'}
          </button>
        </div>
      ) : null}
      <div className="model-load" hidden={folded}>
        <div className={`dropzone${over ? ' over' : ''}`} data-testid="model-drop">
          <p>
            Drop a Hugging Face model folder here, or its files: <code>config.json</code>, <code>*.safetensors</code> (or this studio’s packed <code>*.safetensors.pack</code>), <code>tokenizer.json</code>, <code>tokenizer_config.json</code>.
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
        <button type="button" className="button secondary wide" data-testid="load-default" onClick={() => void loadDefaultModel()} disabled={busy || loading !== null}>
          Load the bundled default model
        </button>
      </div>
      {loading ? (
        <p className="status-line" data-testid="model-loading">
          <span className="spinner" /> Loading {loading}…
        </p>
      ) : null}
    </section>
  );
}

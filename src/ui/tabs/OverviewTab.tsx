/** The loaded model: architecture, size, dtype, blocks, every linear layer with its shape; the GPU. */
import { exportLayerProblem } from '../actions';
import { formatCount, shortLayer } from '../format';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';

export function OverviewTab() {
  const model = useSession((s) => s.model);
  const gpu = useSession((s) => s.gpu);
  const loading = useSession((s) => s.loading);
  const busy = useSession((s) => s.job !== null);
  const setLayer = useSettings((s) => s.set);
  const selected = useSettings((s) => s.layer);
  if (!model) {
    return <p className="empty">{loading ? `Loading ${loading}…` : 'No model loaded yet. Load the bundled default model or drop a model folder on the left.'}</p>;
  }
  const linearParams = model.linears.reduce((a, l) => a + l.shape[0] * l.shape[1], 0);
  return (
    <div className="stack">
      <section className="panel" data-testid="model-summary">
        <h3>{model.name}</h3>
        <dl className="facts">
          <div>
            <dt>architecture</dt>
            <dd data-testid="model-arch">{model.architecture}</dd>
          </div>
          <div>
            <dt>parameters</dt>
            <dd data-testid="model-params">{formatCount(model.parameters)}</dd>
          </div>
          <div>
            <dt>in linear layers</dt>
            <dd>{formatCount(linearParams)}</dd>
          </div>
          <div>
            <dt>dtype</dt>
            <dd data-testid="model-dtype">{model.dtype}</dd>
          </div>
          <div>
            <dt>blocks</dt>
            <dd data-testid="model-blocks">{model.blocks}</dd>
          </div>
          <div>
            <dt>hidden size</dt>
            <dd>{model.hidden}</dd>
          </div>
          <div>
            <dt>vocabulary</dt>
            <dd>{model.vocabSize.toLocaleString()}</dd>
          </div>
          <div>
            <dt>context</dt>
            <dd>{model.contextLength.toLocaleString()} tokens</dd>
          </div>
          <div>
            <dt>GPU adapter</dt>
            <dd data-testid="gpu-adapter">
              {gpu.state === 'ready'
                ? [gpu.adapter.vendor, gpu.adapter.architecture, gpu.adapter.description].filter(Boolean).join(' · ') || 'unnamed adapter'
                : gpu.state === 'checking'
                  ? 'checking…'
                  : 'not available'}
            </dd>
          </div>
        </dl>
        <p className="muted small">
          Files: {model.files.join(', ')}
          {model.hasTokenizer ? '' : ' — no tokenizer.json, so calibration and evaluation are not possible.'}
        </p>
        {gpu.state === 'ready' && gpu.adapter.swiftshader ? (
          <p className="hint">This adapter is SwiftShader, a CPU implementation of the GPU: it works, but slowly. Keep calibration small.</p>
        ) : null}
      </section>
      <section className="panel">
        <h3>
          Linear layers <span className="muted">({model.linears.length}, in pruning order within each block)</span>
        </h3>
        <table className="table" data-testid="linears-table">
          <thead>
            <tr>
              <th>block</th>
              <th>module</th>
              <th>role</th>
              <th className="num">out × in</th>
              <th className="num">weights</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {model.linears.map((l) => (
              <tr key={l.id} className={l.id === selected ? 'selected' : ''} onClick={() => setLayer({ layer: l.id })}>
                <td>{l.block}</td>
                <td title={l.id}>{shortLayer(l.id).replace(/^\d+ · /, '')}</td>
                <td>{l.role}</td>
                <td className="num">
                  {l.shape[0]} × {l.shape[1]}
                </td>
                <td className="num">{formatCount(l.shape[0] * l.shape[1])}</td>
                <td className="num">
                  <button
                    type="button"
                    className="link"
                    disabled={busy || gpu.state === 'unavailable'}
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
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

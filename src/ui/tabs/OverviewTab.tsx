/** The loaded model: architecture, size, dtype, blocks, every linear layer with its shape; the GPU. */
import { exportLayerProblem } from '../actions';
import { formatCount, shortLayer } from '../format';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';
import { Fact, num, TableHead } from '../components/Table';
import { LinearMarks } from '../layer/linearNotes';

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
      <section className="panel">
        <h3>
          Linear layers <span className="muted">({model.linears.length}, in pruning order within each block)</span>
        </h3>
        <table className="table" data-testid="linears-table">
          <TableHead columns={['block', 'module', 'role', num('out × in'), num('weights'), '']} />
          <tbody>
            {model.linears.map((l) => (
              <tr key={l.id} className={l.id === selected ? 'selected' : ''} onClick={() => setLayer({ layer: l.id })}>
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

/** Title, the loaded model and the GPU at a glance, and the tour's button. */
import { formatCount } from '../format';
import { useTour } from '../help/Tour';
import { useSession } from '../stores/session';

export function Header() {
  const model = useSession((s) => s.model);
  const gpu = useSession((s) => s.gpu);
  const touring = useTour((s) => s.step !== null);
  const gpuText =
    gpu.state === 'ready'
      ? `GPU: ${gpu.adapter.description || gpu.adapter.architecture || gpu.adapter.vendor || 'WebGPU adapter'}`
      : gpu.state === 'checking'
        ? 'GPU: checking…'
        : 'GPU: WebGPU unavailable';
  return (
    <header className="topbar">
      <h1>
        Prune Studio <span className="muted topbar-subtitle">· ALPS, SparseGPT, Wanda, magnitude and SPAP (structured) pruning on your GPU</span>
      </h1>
      <div className="topbar-chips">
        <span className="chip" data-testid="model-chip">
          {model ? `${model.name} · ${model.architecture} · ${formatCount(model.parameters)} params` : 'no model'}
        </span>
        <span className={`chip ${gpu.state === 'unavailable' ? 'bad' : gpu.state === 'ready' ? 'good' : ''}`} data-testid="gpu-chip">
          {gpuText}
        </span>
        <button
          type="button"
          className="chip chip-button"
          data-testid="tour-open"
          aria-pressed={touring}
          title="A short tour of what the studio shows"
          onClick={() => (touring ? useTour.getState().end() : useTour.getState().start())}
        >
          Tour
        </button>
      </div>
    </header>
  );
}

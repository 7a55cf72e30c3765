/** Where WebGPU is missing or refused: what happened and how to turn it on. */
import { useSession } from '../stores/session';

export function GpuNotice() {
  const gpu = useSession((s) => s.gpu);
  if (gpu.state !== 'unavailable') return null;
  return (
    <div className="banner error" role="alert" data-testid="gpu-unavailable">
      <div>
        <strong>WebGPU is not available, so nothing can be pruned here yet</strong>
        <p>{gpu.message}</p>
        <ul>
          <li>Use a recent Chrome or Edge (version 113 or later) on Windows, macOS or ChromeOS; WebGPU is on by default there.</li>
          <li>
            On Linux, open <code>chrome://flags/#enable-unsafe-webgpu</code>, enable it and restart, or start Chrome with <code>--enable-unsafe-webgpu</code>.
          </li>
          <li>
            Check that hardware acceleration is on (Settings → System) and see <code>chrome://gpu</code> for what the browser found.
          </li>
        </ul>
        <p>You can still load a model and look at its layers.</p>
      </div>
    </div>
  );
}

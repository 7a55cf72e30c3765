/**
 * The worker's one test-only message, kept out of protocol.ts so that the UI's request type cannot
 * name it: `{ id, request: { type: 'armGpuFault', fault } }` arms a fault (src/gpu/faults.ts) on the
 * engine's device; the next run then loses the device or runs out of memory at that point. Only
 * e2e/gpu-failure.spec.ts sends it, by dispatching the message inside the worker (Playwright's
 * worker.evaluate); no control, URL or setting of the studio does.
 */
import type { EngineSession } from '../engine/session';
import { parseGpuFault } from '../gpu/faults';

export interface ArmGpuFault {
  type: 'armGpuFault';
  /** lose-device@<dispatches> or out-of-memory@<allocation>. */
  fault: string;
}

export function isTestRequest(request: { type: string }): request is ArmGpuFault {
  return request.type === 'armGpuFault';
}

export function handleTestRequest(session: EngineSession, request: ArmGpuFault): Promise<{ armed: string; dispatches: number }> {
  return session.armGpuFault(parseGpuFault(request.fault));
}

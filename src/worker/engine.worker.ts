/// <reference lib="webworker" />
/**
 * The engine worker: a thin router from protocol messages (protocol.ts) to one engine session,
 * which owns the GPU, the model and the runs. Each request is answered with one result or error;
 * a run's events go back under the request's id. Pause, resume, cancel, layer views and exports
 * are answered while a run is going.
 */
import { fetchedAssets } from '../engine/assets';
import { EngineSession } from '../engine/session';
import type { Emit } from '../engine/types';
import { openGpu } from '../gpu/device';
import { openKv } from '../shared/kv';
import type { Request, Response, ResultOf } from './protocol';
import { handleTestRequest, isTestRequest, type ArmGpuFault } from './testHooks';

declare const self: DedicatedWorkerGlobalScope;

const session = new EngineSession({
  openGpu: () => openGpu(navigator.gpu),
  assets: fetchedAssets(new URL(`${import.meta.env.BASE_URL}default-model/`, self.location.origin).href),
  kv: openKv('prune-studio-engine'),
});

type Handlers = { [K in Request['type']]: (req: Extract<Request, { type: K }>, emit: Emit) => ResultOf[K] | Promise<ResultOf[K]> };

const handlers: Handlers = {
  init: () => session.init(),
  loadModel: (r) => session.load(r.files, r.name),
  loadDefaultModel: () => session.loadDefault(),
  pruneLayer: (r, emit) => session.pruneLayer(r.layer, r.settings, r.calibration, emit),
  compareLayer: (r, emit) => session.compareLayer(r.layer, r.settings, r.calibration, emit),
  pruneModel: (r, emit) => session.pruneModel(r.settings, r.calibration, emit),
  owlBudget: (r, emit) => session.owlBudget(r.settings, r.calibration, emit),
  pruneStructured: (r, emit) => session.pruneStructured(r.settings, r.calibration, emit),
  pause: () => session.pause(),
  resume: () => session.resume(),
  cancel: () => session.cancel(),
  layerView: (r) => session.layerView(r.layer, r.method, r.run),
  evaluate: (r, emit) => session.evaluate(r.text, r.seqlen, r.maxTokens, emit),
  generate: (r, emit) => session.generate(r.prompt, r.tokens, emit),
  exportModel: (r) => session.exportModel(r.which ?? 'sparse', { compact: r.compact, pack: r.pack }),
  exportLayerProblem: (r, emit) => session.exportLayerProblem(r.layer, r.calibration, emit),
  forgetPruned: () => session.forgetRuns(),
  unfinishedModelRun: () => session.unfinishedModelRun(),
  continueModelRun: (_r, emit) => session.continueModelRun(emit),
  discardModelRun: () => session.discardModelRun(),
  exportModelToFolder: (r, emit) => session.exportModelToFolder(r.which ?? 'sparse', r.folder, emit, { compact: r.compact, pack: r.pack }),
  sparsityPayoff: (r, emit) => session.sparsityPayoff(r.which, r.tokens, emit),
};

function post(message: Response, transfer: Transferable[] = []): void {
  self.postMessage(message, transfer);
}

/** Exported files can be large: their buffers are moved, not copied. */
function transferables(value: unknown): Transferable[] {
  const files = Array.isArray(value) ? value : [value];
  return files.flatMap((f) => (f && typeof f === 'object' && 'bytes' in f && f.bytes instanceof Uint8Array ? [f.bytes.buffer as ArrayBuffer] : []));
}

async function handle(id: number, request: Request | ArmGpuFault): Promise<void> {
  const emit: Emit = (event) => post({ id, kind: 'event', event });
  try {
    const value = isTestRequest(request) ? await handleTestRequest(session, request) : await (handlers[request.type] as (req: Request, emit: Emit) => unknown)(request, emit);
    post({ id, kind: 'result', value }, transferables(value));
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    post({ id, kind: 'error', name: e.name, message: e.message });
  }
}

self.onmessage = (message: MessageEvent<{ id: number; request: Request | ArmGpuFault }>) => {
  void handle(message.data.id, message.data.request);
};

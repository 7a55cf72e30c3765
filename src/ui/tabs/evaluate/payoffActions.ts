/**
 * The studio's side of compact checkpoints and "what this sparsity buys here": measuring the run's
 * bytes, parameters and decode speed in the worker, and writing the compact export (a picked
 * folder, streamed, or files to download one by one).
 */
import { create } from 'zustand';
import { runJob } from '../../actions';
import { pickExportFolder } from '../../longRunActions';
import type { SparsityPayoff, WrittenFile } from '../../../worker/protocol';
import type { PreparedFile } from '../../stores/downloads';

interface PayoffState {
  payoff: SparsityPayoff | null;
  /** The compact export's files: written into a folder, or prepared for download. */
  compactFolder: { folder: string; files: WrittenFile[] } | null;
  compactFiles: PreparedFile[];
}

export const usePayoff = create<PayoffState>(() => ({ payoff: null, compactFolder: null, compactFiles: [] }));

/** Tokens generated per kernel choice when measuring speed: enough decode steps to time, few enough for SwiftShader. */
export const SPEED_TOKENS = 24;

export async function measurePayoff(which: 'sparse' | 'structured', withSpeed: boolean): Promise<void> {
  const label = withSpeed ? 'Measuring bytes and decode speed (dense vs sparse kernels)' : 'Counting the bytes of the dense and compact exports';
  const payoff = await runJob('generate', label, { type: 'sparsityPayoff', which, tokens: withSpeed ? SPEED_TOKENS : 0 });
  if (payoff) usePayoff.setState({ payoff });
}

const packedLabel = (pack: boolean) => (pack ? 'compact sparse model, packed' : 'compact sparse model');

/** The compact export (packed or not) as files to download (browsers without a folder picker). */
export async function prepareCompactDownload(pack = false): Promise<void> {
  const files = await runJob('exportModel', `Writing the ${packedLabel(pack)}`, { type: 'exportModel', which: 'sparse', compact: true, pack });
  if (!files) return;
  for (const f of usePayoff.getState().compactFiles) URL.revokeObjectURL(f.url);
  const compactFiles = files.map((f) => ({ name: f.name, size: f.bytes.byteLength, url: URL.createObjectURL(new Blob([f.bytes as Uint8Array<ArrayBuffer>])) }));
  usePayoff.setState({ compactFiles });
}

/** The compact export (packed or not) streamed into a picked folder, tensor by tensor. */
export async function saveCompactToFolder(pack = false): Promise<void> {
  const folder = await pickExportFolder(pack ? 'prune-studio-export-packed' : 'prune-studio-export-compact');
  if (folder === undefined) return prepareCompactDownload(pack);
  if (!folder) return;
  const files = await runJob('exportModel', `Writing the ${packedLabel(pack)} into ${folder.name}`, { type: 'exportModelToFolder', which: 'sparse', folder, compact: true, pack });
  if (files) usePayoff.setState({ compactFolder: { folder: folder.name, files } });
}

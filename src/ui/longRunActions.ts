/**
 * Long whole-model runs in the studio: the stopped run a reload (or a cancel) left in this
 * browser's storage — continue it or discard it — and the export streamed straight into a folder
 * where the browser has a folder picker (elsewhere the per-file downloads of actions.ts).
 */
import { engine } from './engineClient';
import { prepareModelDownload, reportError, runJob } from './actions';
import { useDownloads } from './stores/downloads';
import { useLongRun } from './stores/longRun';
import { useResults } from './stores/results';
import { useSession } from './stores/session';
import { methodLabel } from '../shared/methods';
import { runFinished } from './run/arc';

/** Asks the engine whether the loaded model has a stopped whole-model run saved in this browser. */
export async function refreshUnfinished(): Promise<void> {
  if (!useSession.getState().model) {
    useLongRun.getState().setUnfinished(null);
    return;
  }
  try {
    useLongRun.getState().setUnfinished(await engine().request({ type: 'unfinishedModelRun' }));
  } catch {
    // Storage that cannot be read has nothing to offer.
    useLongRun.getState().setUnfinished(null);
  }
}

/** Continues the stopped run with its own settings: only the blocks after the saved ones are solved. */
export async function continueModelRun(): Promise<void> {
  const info = useLongRun.getState().unfinished;
  if (!info) return;
  useResults.getState().resetPartial();
  useSession.getState().setTab('live');
  const run = await runJob('pruneModel', `Continuing the whole-model run with ${methodLabel(info.settings.method)}`, { type: 'continueModelRun' });
  if (run) {
    useResults.getState().setModelRun(run);
    runFinished();
    useDownloads.getState().setModelFiles([]);
    useLongRun.getState().setFolderExport(null);
  }
  await refreshUnfinished();
}

export async function discardModelRun(): Promise<void> {
  try {
    await engine().request({ type: 'discardModelRun' });
  } catch (error) {
    reportError(error, 'run');
  }
  await refreshUnfinished();
}

type DirectoryPicker = (options?: { mode?: 'read' | 'readwrite'; id?: string }) => Promise<FileSystemDirectoryHandle>;

/** The File System Access API's folder picker, where the browser has one (Chrome, Edge). */
export function folderPicker(): DirectoryPicker | null {
  const picker = (window as unknown as { showDirectoryPicker?: DirectoryPicker }).showDirectoryPicker;
  return typeof picker === 'function' ? picker.bind(window) : null;
}

/**
 * Asks for a folder to write an export into; call it straight from the click (the picker needs the
 * user's gesture). Undefined where the browser has no picker, null when the person cancelled (or the
 * picker failed, which is reported).
 */
export async function pickExportFolder(id: string): Promise<FileSystemDirectoryHandle | null | undefined> {
  const picker = folderPicker();
  if (!picker) return undefined;
  try {
    return await picker({ mode: 'readwrite', id });
  } catch (error) {
    if ((error as Error).name !== 'AbortError') reportError(error, 'run');
    return null;
  }
}

/** Asks for a folder and has the worker stream every file of the export into it; without a picker, prepares per-file downloads. */
export async function saveModelToFolder(which: 'sparse' | 'structured' = 'sparse'): Promise<void> {
  const folder = await pickExportFolder('prune-studio-export');
  if (folder === undefined) return prepareModelDownload(which);
  if (!folder) return;
  const label = which === 'structured' ? `Writing the structured model into ${folder.name}` : `Writing the pruned model into ${folder.name}`;
  const files = await runJob('exportModel', label, { type: 'exportModelToFolder', which, folder });
  if (!files) return;
  useLongRun.getState().setFolderExport({ which, folder: folder.name, files });
}

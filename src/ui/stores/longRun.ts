/**
 * Whole-model runs that outlive the page: the loaded model's stopped run with blocks saved in this
 * browser (offered to continue or discard), the checkpoint of the run in progress, and the files
 * the last export streamed into a folder.
 */
import { create } from 'zustand';
import type { UnfinishedRunInfo, WrittenFile } from '../../worker/protocol';

export interface FolderExport {
  which: 'sparse' | 'structured';
  folder: string;
  files: WrittenFile[];
}

interface LongRunStore {
  unfinished: UnfinishedRunInfo | null;
  /** The running job's saved blocks so far, and their bytes in storage. */
  saved: { blocks: number; of: number; bytes: number } | null;
  folderExport: FolderExport | null;
  setUnfinished(info: UnfinishedRunInfo | null): void;
  setSaved(saved: LongRunStore['saved']): void;
  setFolderExport(result: FolderExport | null): void;
}

export const useLongRun = create<LongRunStore>((set) => ({
  unfinished: null,
  saved: null,
  folderExport: null,
  setUnfinished: (unfinished) => set({ unfinished }),
  setSaved: (saved) => set({ saved }),
  setFolderExport: (folderExport) => set({ folderExport }),
}));

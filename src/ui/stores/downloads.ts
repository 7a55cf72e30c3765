/** Files prepared for download (object URLs), shown as links on the Download tab. */
import { create } from 'zustand';

export interface PreparedFile {
  name: string;
  url: string;
  size: number;
}

interface DownloadsStore {
  model: PreparedFile[];
  preparedAt: number | null;
  /** The structured (MLP-channel) model's files. */
  structured: PreparedFile[];
  setModelFiles(files: PreparedFile[]): void;
  setStructuredFiles(files: PreparedFile[]): void;
}

export const useDownloads = create<DownloadsStore>((set, get) => ({
  model: [],
  preparedAt: null,
  structured: [],
  setModelFiles: (files) => {
    // Old object URLs hold their bytes until revoked.
    for (const f of get().model) URL.revokeObjectURL(f.url);
    set({ model: files, preparedAt: files.length ? Date.now() : null });
  },
  setStructuredFiles: (files) => {
    for (const f of get().structured) URL.revokeObjectURL(f.url);
    set({ structured: files });
  },
}));

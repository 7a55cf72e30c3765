/** Collecting the files of a dropped or picked model folder (folders are walked; nested copies ignored). */

interface FsEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
  file?(success: (f: File) => void, failure: (e: unknown) => void): void;
  createReader?(): { readEntries(success: (entries: FsEntry[]) => void, failure: (e: unknown) => void): void };
}

async function walk(entry: FsEntry, depth: number, out: { file: File; depth: number }[]): Promise<void> {
  if (entry.isFile && entry.file) {
    const file = await new Promise<File>((resolve, reject) => entry.file!(resolve, reject));
    out.push({ file, depth });
    return;
  }
  if (entry.isDirectory && entry.createReader) {
    const reader = entry.createReader();
    // readEntries returns entries in chunks until it returns an empty list.
    for (;;) {
      const batch = await new Promise<FsEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) break;
      for (const child of batch) await walk(child, depth + 1, out);
    }
  }
}

/** The files of a drop, with the name of the dropped folder when one folder was dropped. */
export async function filesFromDrop(data: DataTransfer): Promise<{ files: File[]; folder: string | null }> {
  const entries = [...data.items]
    .map((item) => (item.kind === 'file' ? (item.webkitGetAsEntry?.() as FsEntry | null) : null))
    .filter((e): e is FsEntry => e !== null);
  if (!entries.length) return { files: [...data.files], folder: null };
  const found: { file: File; depth: number }[] = [];
  for (const entry of entries) await walk(entry, 0, found);
  const folder = entries.length === 1 && entries[0].isDirectory ? entries[0].name : null;
  return { files: shallowest(found), folder };
}

/** Picked files (webkitdirectory gives paths like "model/config.json"). */
export function filesFromInput(list: FileList | null): { files: File[]; folder: string | null } {
  const files = [...(list ?? [])];
  const withPaths = files.map((file) => {
    const path = (file as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
    return { file, depth: path ? path.split('/').length - 1 : 0 };
  });
  const first = (files[0] as (File & { webkitRelativePath?: string }) | undefined)?.webkitRelativePath;
  return { files: shallowest(withPaths), folder: first ? first.split('/')[0] : null };
}

/** Keeps the top-most copy of each file name: a model folder's own config.json, not one in a subfolder. */
function shallowest(found: { file: File; depth: number }[]): File[] {
  const best = new Map<string, { file: File; depth: number }>();
  for (const f of found) {
    const prev = best.get(f.file.name);
    if (!prev || f.depth < prev.depth) best.set(f.file.name, f);
  }
  return [...best.values()].map((f) => f.file);
}

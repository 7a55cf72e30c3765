/** Saving bytes or text as a file through a temporary link (works for any size the page can hold). */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the bytes are released.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function saveBytes(bytes: Uint8Array, name: string, type = 'application/octet-stream'): void {
  saveBlob(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), name);
}

export function saveText(text: string, name: string, type = 'text/plain'): void {
  saveBlob(new Blob([text], { type }), name);
}

/** The one error type of the safetensors reader and writer; reader messages start with the file name. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Throws a SafetensorsError naming `file`, so a user with many shards knows which one is bad. */
export function fail(file: string, message: string): never {
  throw new SafetensorsError(`${file}: ${message}`);
}

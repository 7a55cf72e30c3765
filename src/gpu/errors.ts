/** Errors a person can act on: each says what went wrong and what to do next. */
export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
}

export class GpuOutOfMemoryError extends Error {
  override name = 'GpuOutOfMemoryError';
}

export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
}

export { CancelledError } from '../shared/control';

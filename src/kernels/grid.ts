/** Workgroup grids for one-dimensional kernels of 64 invocations per group. Past 65535 groups the
 * grid folds into a second dimension; the shaders index `gid.x + gid.y · 65535 · 64`. */
export function flatGrid(count: number, groupSize = 64): [number, number] {
  const groups = Math.max(1, Math.ceil(count / groupSize));
  return groups <= 65535 ? [groups, 1] : [65535, Math.ceil(groups / 65535)];
}

/** Grid of 8×8 groups covering a rows × cols matrix. */
export function grid2d(rows: number, cols: number): [number, number] {
  return [Math.ceil(cols / 8), Math.ceil(rows / 8)];
}

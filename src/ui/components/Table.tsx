/** Pieces of the studio's tables and fact lists, so each view lists its columns and facts as data. */
import type { ReactNode } from 'react';

export interface Column {
  /** Text, or a node when part of it must escape the header's uppercase (a Greek letter such as ρ). */
  label: ReactNode;
  /** Right-aligned numbers. */
  num?: boolean;
  title?: string;
}

/** A numeric column. */
export function num(label: ReactNode, title?: string): Column {
  return { label, num: true, title };
}

export function TableHead({ columns }: { columns: (string | Column)[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c, i) => {
          const col = typeof c === 'string' ? { label: c } : c;
          return (
            <th key={i} className={col.num ? 'num' : undefined} title={col.title}>
              {col.label || null}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

/** One entry of a `<dl className="facts">`: the term and its value. */
export function Fact({ label, testId, value, children }: { label: ReactNode; testId?: string; value?: number; children: ReactNode }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testId} data-value={value}>
        {children}
      </dd>
    </div>
  );
}

/** A labelled number input that keeps the typed text while it is not yet a valid number. */
import { useEffect, useState } from 'react';
import { Help } from '../help/Help';
import type { HelpTopic } from '../help/topics';

interface Props {
  label: string;
  value: number;
  onChange: (value: number) => void;
  min?: number;
  max?: number;
  step?: number;
  /** Integers only (default) or any real number. */
  integer?: boolean;
  disabled?: boolean;
  testId?: string;
  title?: string;
  /** Its explanation, behind a help button beside the label. */
  help?: HelpTopic;
}

export function NumberField({ label, value, onChange, min, max, step, integer = true, disabled, testId, title, help }: Props) {
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const valid = (n: number) => Number.isFinite(n) && (!integer || Number.isInteger(n)) && (min === undefined || n >= min) && (max === undefined || n <= max);
  const invalid = !valid(Number(text)) || text.trim() === '';
  return (
    <label className="field" title={title}>
      <span>
        {label}
        {help ? <Help topic={help} /> : null}
      </span>
      <input
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        data-testid={testId}
        value={text}
        min={min}
        max={max}
        step={step}
        disabled={disabled}
        aria-invalid={invalid}
        className={invalid ? 'invalid' : undefined}
        onChange={(e) => {
          setText(e.target.value);
          const n = Number(e.target.value);
          if (e.target.value.trim() !== '' && valid(n)) onChange(n);
        }}
        onBlur={() => setText(String(value))}
      />
    </label>
  );
}

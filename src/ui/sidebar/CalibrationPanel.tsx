/** Calibration text (bundled, pasted or a dropped .txt), number of windows and their length. */
import { useState } from 'react';
import { useSession } from '../stores/session';
import { useSettings } from '../stores/settings';
import { NumberField } from '../components/NumberField';
import { Help } from '../help/Help';

export function CalibrationPanel() {
  const s = useSettings();
  const contextLength = useSession((x) => x.model?.contextLength ?? 4096);
  const busy = useSession((x) => x.job !== null);
  const [over, setOver] = useState(false);

  const readTxt = async (file: File | undefined) => {
    if (!file) return;
    s.set({ calSource: 'custom', calText: await file.text(), calFileName: file.name });
  };

  return (
    <section className="side-section">
      <h2>Calibration <Help topic="calibration-text" /></h2>
      <div className="radio-row" role="radiogroup" aria-label="Calibration text">
        <label>
          <input type="radio" name="cal-source" checked={s.calSource === 'default'} onChange={() => s.set({ calSource: 'default' })} disabled={busy} /> Bundled text
        </label>
        <label>
          <input type="radio" name="cal-source" data-testid="cal-custom" checked={s.calSource === 'custom'} onChange={() => s.set({ calSource: 'custom' })} disabled={busy} /> My own text
        </label>
      </div>
      {s.calSource === 'custom' ? (
        <div
          className={`text-drop${over ? ' over' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            void readTxt(e.dataTransfer.files[0]);
          }}
        >
          <textarea
            data-testid="cal-text"
            rows={4}
            placeholder="Paste calibration text here, or drop a .txt file on this box."
            value={s.calText}
            disabled={busy}
            onChange={(e) => s.set({ calText: e.target.value, calFileName: null })}
          />
          <div className="text-drop-footer">
            <span className="muted">{s.calFileName ? `from ${s.calFileName}, ` : ''}{s.calText.length.toLocaleString()} characters</span>
            <label className="link">
              Open .txt…
              <input type="file" accept=".txt,text/plain" hidden onChange={(e) => void readTxt(e.target.files?.[0])} />
            </label>
          </div>
        </div>
      ) : (
        <p className="hint">The bundled <code>calibration.txt</code> (short stories in the default model's domain).</p>
      )}
      <div className="field-grid three">
        <NumberField label="Samples" testId="cal-samples" help="cal-samples" value={s.nsamples} min={1} max={1024} step={1} onChange={(v) => s.set({ nsamples: v })} disabled={busy} />
        <NumberField label="Window" testId="cal-seqlen" help="cal-seqlen" value={s.seqlen} min={2} max={contextLength} step={1} onChange={(v) => s.set({ seqlen: v })} disabled={busy} />
        <NumberField label="Seed" testId="cal-seed" help="cal-seed" value={s.seed} min={0} max={2 ** 31 - 1} step={1} onChange={(v) => s.set({ seed: v })} disabled={busy} />
      </div>
      <p className="hint">
        {s.nsamples} windows × {s.seqlen} tokens = {(s.nsamples * s.seqlen).toLocaleString()} calibration tokens.
      </p>
    </section>
  );
}

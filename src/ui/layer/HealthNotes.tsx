/** A layer's numerical health in the studio: a badge for the layer table and the warnings for the layer view. */
import { healthWarnings, type HealthWarning } from '../../shared/health';
import type { LayerOutcome } from '../../shared/outcome';

/** Amber, unlike the green `.badge` that marks good news. */
const WARN_BADGE = { background: '#fef3c7', color: '#92400e', textTransform: 'none' } as const;

export function warningsOf(r: Pick<LayerOutcome, 'health'>): HealthWarning[] {
  return r.health ? healthWarnings(r.health) : [];
}

/** "⚠ 2" beside a layer (or block) whose gram has something off; the warnings as its tooltip. Nothing when all is well. */
export function HealthBadge({ warnings }: { warnings: readonly HealthWarning[] }) {
  if (!warnings.length) return null;
  return (
    <span className="badge" style={WARN_BADGE} data-testid="health-badge" data-kinds={warnings.map((w) => w.kind).join(' ')} title={warnings.map((w) => w.text).join('\n')}>
      ⚠ {warnings.length}
    </span>
  );
}

/** The layer view's list of warnings, each with what to do; nothing when the layer is healthy. */
export function HealthWarnings({ result }: { result: Pick<LayerOutcome, 'health'> }) {
  const warnings = warningsOf(result);
  const h = result.health;
  if (!h || !warnings.length) return null;
  const estimate = h.condition.estimate;
  const condition =
    estimate !== null ? `κ(Ĝ) ≈ ${estimate.toExponential(1)}` : h.factorises === false ? 'not factorisable' : 'κ(Ĝ) beyond what f32 resolves';
  return (
    <div className="inline-error" data-testid="health-warnings" role="status">
      <strong>Numerical health</strong>
      <span className="muted small">
        {' '}
        · {h.rows === null ? 'rows unknown' : `${h.rows} calibration rows`} for {h.n} inputs · {h.deadInputs} dead · {condition} at damping {h.damping.fraction}
      </span>
      <ul>
        {warnings.map((w) => (
          <li key={w.kind} data-kind={w.kind}>
            {w.text}
          </li>
        ))}
      </ul>
    </div>
  );
}

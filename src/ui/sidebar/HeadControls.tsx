/** SPAP over attention: the fraction of every block's key/value groups (with their query heads) removed too. */
import type { ModelSummary } from '../../worker/protocol';
import { HEAD_FRACTION, type Settings } from '../stores/settings';
import { Help } from '../help/Help';

/** Groups a fraction removes: rounded, and at least one group stays (as the pipeline rounds). */
export function groupsRemoved(fraction: number, groups: number): number {
  return Math.min(groups - 1, Math.round(fraction * groups));
}

export function HeadControls({ s, busy, model }: { s: Settings & { set: (p: Partial<Settings>) => void }; busy: boolean; model: ModelSummary | null }) {
  const groups = model?.kvGroups ?? null;
  const perGroup = model?.queriesPerGroup ?? 1;
  const removable = model?.headsRemovable !== false && (groups ?? 2) > 1;
  const removed = groups === null ? null : groupsRemoved(s.headFraction, groups);
  return (
    <label className="slider">
      <span>
        <strong data-testid="head-fraction-value">{Math.round(s.headFraction * 100)}%</strong> of key/value groups removed
        <Help topic="spap-heads" />
        {groups !== null && removable ? (
          <span className="muted" data-testid="head-fraction-count">
            {' '}
            ({removed} of {groups} per block{perGroup > 1 ? `, ${perGroup} query heads each` : ''})
          </span>
        ) : null}
        {!removable ? <span className="muted"> (this model cannot lose heads: {groups === 1 ? 'one key/value group' : 'its format derives head_dim from the head count'})</span> : null}
      </span>
      {/* HEAD_FRACTION holds the range's min, max and step. */}
      <input type="range" {...HEAD_FRACTION} value={removable ? s.headFraction : 0} data-testid="head-fraction" aria-label="Fraction of attention key/value groups to remove" onChange={(e) => s.set({ headFraction: Number(e.target.value) })} disabled={busy || !removable} />
    </label>
  );
}

/** What a structured (MLP-channel) run reports per block, as the pipeline writes it and the studio shows it. */
import type { ChannelSelection } from './methods';
import type { SpapStep } from './telemetry';

export interface BlockChannelReport {
  block: number;
  /** down_proj's id. */
  layer: string;
  selection: ChannelSelection;
  channels: number;
  kept: number[];
  removed: number[];
  /** down_proj's relative output error after the refit. */
  relError: number;
  steps: SpapStep[];
  ms: number;
}

/** What a structured run that removed attention heads reports per block: key/value groups kept and removed. */
export interface BlockHeadReport {
  block: number;
  /** The output projection's id (o_proj). */
  layer: string;
  selection: ChannelSelection;
  /** Key/value groups the block had, and query heads per group. */
  groups: number;
  queriesPerGroup: number;
  kept: number[];
  removed: number[];
  /** The output projection's relative output error after the refit. */
  relError: number;
  steps: SpapStep[];
  ms: number;
}

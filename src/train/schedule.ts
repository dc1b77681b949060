/** Learning-rate schedule: linear warmup, then cosine decay to minLr at `total` steps. */
export interface ScheduleConfig { lr: number; minLr: number; warmupSteps: number; totalSteps: number }

export function lrAt(step: number, c: ScheduleConfig): number {
  if (c.warmupSteps > 0 && step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  if (step >= c.totalSteps) return c.minLr;
  const span = Math.max(1, c.totalSteps - c.warmupSteps);
  const ratio = (step - c.warmupSteps) / span;
  return c.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (c.lr - c.minLr);
}

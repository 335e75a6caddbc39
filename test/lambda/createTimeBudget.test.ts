import { describe, expect, it } from 'vitest';
import { createTimeBudget } from '../../lambda/aws/createTimeBudget.ts';

describe('Function: createTimeBudget', () => {
  it('fires stop the margin before the remaining time runs out, and the hard signal a third of it before', async () => {
    // Prepare
    const budget = createTimeBudget({ getRemainingTimeInMillis: () => 1_050 }, 900);

    // Act
    const before = budget.expired;
    await new Promise((resolve) => budget.stop.addEventListener('abort', resolve, { once: true }));
    const hardAtStop = budget.signal.aborted;
    await new Promise((resolve) => budget.signal.addEventListener('abort', resolve, { once: true }));

    // Assess
    expect(before).toBe(false);
    expect(hardAtStop).toBe(false);
    expect(budget.expired).toBe(true);
    expect(budget.remainingMs()).toBe(0);
    budget.dispose();
  });

  it('is expired at once when less than the margin is left', () => {
    // Act
    const budget = createTimeBudget({ getRemainingTimeInMillis: () => 10_000 }, 30_000);

    // Assess
    expect(budget.expired).toBe(true);
    expect(budget.signal.aborted).toBe(true);
    budget.dispose();
  });

  it('does not fire after dispose', async () => {
    // Prepare
    const budget = createTimeBudget({ getRemainingTimeInMillis: () => 20 }, 0);

    // Act
    budget.dispose();
    await new Promise((resolve) => setTimeout(resolve, 40));

    // Assess
    expect(budget.expired).toBe(false);
  });
});

package io.ringraft.testkit.history;

import java.util.List;

/**
 * Times {@link LinearizabilityChecker} on generated linearizable histories (not a test: run it by hand).
 * <p>
 * Settings: {@link RandomHistories#generate} with 2000 ops, 10 clients, 3% unknown and 5% failed ops, on one key
 * and on three keys, without CAS and with 20% CAS; seeds 1 to 20; after 5 warm-up rounds, the mean time per
 * history of 5 measured rounds. Run from the repository root after {@code mvn -pl testkit -am test-compile}:
 * {@code java -cp testkit/target/classes:testkit/target/test-classes
 * io.ringraft.testkit.history.LinearizabilityCheckerBenchmark}
 */
public final class LinearizabilityCheckerBenchmark
{
    private static final int OPS = 2000;
    private static final int SEEDS = 20;

    private LinearizabilityCheckerBenchmark()
    {
    }

    /**
     * Prints the mean check time per history for each setting.
     *
     * @param args ignored
     */
    public static void main(final String[] args)
    {
        for (final int keys : new int[]{1, 3})
        {
            for (final double casRate : new double[]{0.0, 0.2})
            {
                final History[] histories = new History[SEEDS];
                for (int seed = 0; seed < SEEDS; seed++)
                {
                    final List<RandomHistories.Spec> specs =
                        RandomHistories.generate(seed + 1, OPS, 10, keys, 0.03, 0.05, casRate);
                    histories[seed] = RandomHistories.record(specs);
                }
                for (int round = 0; round < 5; round++)
                {
                    checkAll(histories);
                }
                final long start = System.nanoTime();
                for (int round = 0; round < 5; round++)
                {
                    checkAll(histories);
                }
                final double meanMillis = (System.nanoTime() - start) / 1e6 / (5.0 * SEEDS);
                System.out.printf("%d ops, %d key(s), CAS %.0f%%: %.2f ms per history%n", OPS, keys, casRate * 100, meanMillis);
            }
        }
    }

    private static void checkAll(final History[] histories)
    {
        for (final History history : histories)
        {
            final CheckResult result = LinearizabilityChecker.check(history, 10_000_000L);
            if (!result.isLinearizable())
            {
                throw new IllegalStateException("generated history rejected: " + result);
            }
        }
    }
}

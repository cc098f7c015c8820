package io.ringraft.testkit.history;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generated histories: linearizable by construction, corrupted on purpose, or random and checked against a
 * brute-force oracle.
 */
class RandomHistoryTest
{
    @Test
    void bigLinearizableHistoryOnOneKeyPassesWithinALinearBudget()
    {
        final int ops = 2000;
        final History history = RandomHistories.record(RandomHistories.generate(42, ops, 10, 1, 0.0, 0.0, 0.0));

        // A budget proportional to the ops: an exponential search would exhaust it and come out UNDECIDED.
        final CheckResult result = LinearizabilityChecker.check(history, 20L * ops);

        assertEquals(CheckResult.Outcome.LINEARIZABLE, result.outcome(), result.toString());
    }

    @Test
    void bigLinearizableHistoriesWithFailuresAndUnknownsPass()
    {
        for (long seed = 1; seed <= 5; seed++)
        {
            final int ops = 2000;
            final History history = RandomHistories.record(RandomHistories.generate(seed, ops, 10, 3, 0.03, 0.05, 0.2));

            final CheckResult result = LinearizabilityChecker.check(history, 50L * ops);

            assertEquals(CheckResult.Outcome.LINEARIZABLE, result.outcome(), "seed " + seed + ": " + result);
        }
    }

    @Test
    void historyWithOneCorruptedReadIsRejected()
    {
        for (long seed = 1; seed <= 10; seed++)
        {
            final Random random = new Random(seed);
            final List<RandomHistories.Spec> specs = RandomHistories.generate(seed, 500, 10, 2, 0.03, 0.05, 0.2);
            final List<RandomHistories.Spec> corrupted = RandomHistories.corruptOneRead(specs, random);
            assertNotNull(corrupted, "seed " + seed + " has no read to corrupt");
            assertTrue(LinearizabilityChecker.check(RandomHistories.record(specs), 1_000_000).isLinearizable());

            final CheckResult result = LinearizabilityChecker.check(RandomHistories.record(corrupted), 1_000_000);

            assertEquals(CheckResult.Outcome.NOT_LINEARIZABLE, result.outcome(), "seed " + seed + ": " + result);
        }
    }

    @Test
    void agreesWithBruteForceOnSmallRandomHistories()
    {
        agreeWithBruteForce(OpKind.values(), 11);
    }

    @Test
    void agreesWithBruteForceOnSmallRandomHistoriesWithoutCas()
    {
        agreeWithBruteForce(new OpKind[]{OpKind.PUT, OpKind.GET, OpKind.DELETE}, 13);
    }

    private static void agreeWithBruteForce(final OpKind[] kinds, final long seed)
    {
        final Random random = new Random(seed);
        int linearizable = 0;
        int rejected = 0;
        for (int i = 0; i < 5000; i++)
        {
            final History history = randomSmallHistory(random, kinds);
            final boolean expected = BruteForceChecker.isLinearizable(history);

            final CheckResult result = LinearizabilityChecker.check(history, 1_000_000);

            final CheckResult.Outcome outcome = expected ?
                CheckResult.Outcome.LINEARIZABLE : CheckResult.Outcome.NOT_LINEARIZABLE;
            assertEquals(outcome, result.outcome(), "history " + i + ": " + result + "\n" + history);
            linearizable += expected ? 1 : 0;
            rejected += expected ? 0 : 1;
        }
        assertTrue(linearizable > 500 && rejected > 500, linearizable + " linearizable, " + rejected + " rejected");
    }

    /** Up to 7 ops on one key over three values, with arbitrary results and outcomes. */
    private static History randomSmallHistory(final Random random, final OpKind[] kinds)
    {
        final String[] values = {null, "a", "b", "c"};
        final History history = new History();
        final int count = 2 + random.nextInt(6);
        for (int i = 0; i < count; i++)
        {
            final OpKind kind = kinds[random.nextInt(kinds.length)];
            final long invoke = random.nextInt(20);
            final int id = history.invoke(
                random.nextInt(3), kind, "k", values[1 + random.nextInt(3)], values[random.nextInt(4)], invoke);
            final int outcome = random.nextInt(10);
            if (outcome < 7)
            {
                final String result = kind == OpKind.GET ? values[random.nextInt(4)] :
                    kind == OpKind.CAS ? Boolean.toString(random.nextBoolean()) : null;
                history.ok(id, result, invoke + random.nextInt(10));
            }
            else if (outcome < 8)
            {
                history.fail(id, invoke + random.nextInt(10));
            }
            else if (outcome < 9)
            {
                history.unknown(id);
            }
        }
        return history;
    }
}

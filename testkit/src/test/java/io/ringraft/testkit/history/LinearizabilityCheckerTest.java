package io.ringraft.testkit.history;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hand-made histories whose verdict can be read off a timeline.
 */
class LinearizabilityCheckerTest
{
    private static final long BUDGET = 1_000_000;

    private final History history = new History();

    @Test
    void sequentialHistoryIsLinearizable()
    {
        put(0, "k", "a", 0, 10);
        get(1, "k", "a", 20, 30);
        cas(0, "k", "a", "b", "true", 40, 50);
        get(1, "k", "b", 60, 70);
        delete(0, "k", 80, 90);
        get(1, "k", null, 100, 110);

        assertLinearizable();
    }

    @Test
    void emptyHistoryIsLinearizable()
    {
        assertLinearizable();
    }

    @Test
    void readOfAbsentKeyBeforeAnyWriteIsLinearizable()
    {
        get(0, "k", null, 0, 10);
        put(1, "k", "a", 20, 30);

        assertLinearizable();
    }

    @Test
    void staleReadAfterCompletedWriteIsNotLinearizable()
    {
        put(0, "k", "a", 0, 10);
        put(0, "k", "b", 20, 30);
        final int stale = get(1, "k", "a", 40, 50);

        final CheckResult result = assertNotLinearizable("k");
        assertTrue(result.explanation().contains("#" + stale + " "), result.explanation());
        assertTrue(result.explanation().contains("[40, 50]"), result.explanation());
    }

    @Test
    void readOfValueNeverWrittenIsNotLinearizable()
    {
        put(0, "k", "a", 0, 10);
        get(1, "k", "z", 20, 30);

        assertNotLinearizable("k");
    }

    @Test
    void readConcurrentWithWriteMaySeeEitherValue()
    {
        put(0, "k", "a", 0, 10);
        put(0, "k", "b", 20, 40);
        get(1, "k", "a", 25, 35);
        get(2, "k", "b", 25, 35);

        assertLinearizable();
    }

    @Test
    void concurrentReadsMustAgreeOnOneOrderOfWrites()
    {
        put(0, "k", "a", 0, 100);
        put(1, "k", "b", 0, 100);
        get(2, "k", "a", 10, 20);
        get(2, "k", "b", 30, 40);
        get(3, "k", "b", 10, 20);
        get(3, "k", "a", 30, 40);

        assertNotLinearizable("k");
    }

    @Test
    void opInvokedWhenAnotherCompletesIsConcurrentWithIt()
    {
        put(0, "k", "a", 10, 20);
        get(1, "k", null, 20, 30);

        assertLinearizable();
    }

    @Test
    void opInvokedAfterAnotherCompletesFollowsIt()
    {
        put(0, "k", "a", 10, 20);
        get(1, "k", null, 21, 30);

        assertNotLinearizable("k");
    }

    @Test
    void unknownWriteSeenByLaterReadIsLinearizable()
    {
        put(0, "k", "a", 0, 10);
        unknownPut(1, "k", "b", 20);
        get(2, "k", "b", 100, 110);
        get(2, "k", "b", 120, 130);

        assertLinearizable();
    }

    @Test
    void unknownWriteNeverSeenIsLinearizable()
    {
        put(0, "k", "a", 0, 10);
        unknownPut(1, "k", "b", 20);
        unknownDelete(1, "k", 25);
        get(2, "k", "a", 100, 110);

        assertLinearizable();
    }

    @Test
    void unknownWriteCannotTakeEffectBeforeItsInvocation()
    {
        get(0, "k", "b", 0, 10);
        unknownPut(1, "k", "b", 20);

        assertNotLinearizable("k");
    }

    @Test
    void unknownWriteSeenThenUnseenIsNotLinearizable()
    {
        put(0, "k", "a", 0, 10);
        unknownPut(1, "k", "b", 20);
        get(2, "k", "b", 100, 110);
        get(2, "k", "a", 120, 130);

        assertNotLinearizable("k");
    }

    @Test
    void pendingOpIsCheckedAsUnknown()
    {
        history.invoke(1, OpKind.PUT, "k", "b", null, 20);
        get(2, "k", "b", 100, 110);
        get(2, "k", null, 120, 130);

        assertNotLinearizable("k");
    }

    @Test
    void unknownReadConstrainsNothing()
    {
        put(0, "k", "a", 0, 10);
        final int read = history.invoke(1, OpKind.GET, "k", null, null, 20);
        history.unknown(read);

        assertLinearizable();
    }

    @Test
    void casSwapsOnlyWhenCurrentValueIsExpected()
    {
        put(0, "k", "a", 0, 10);
        cas(1, "k", "a", "b", "true", 20, 30);
        cas(1, "k", "a", "c", "false", 40, 50);
        get(2, "k", "b", 60, 70);

        assertLinearizable();
    }

    @Test
    void casThatSwappedWithWrongExpectedValueIsNotLinearizable()
    {
        put(0, "k", "a", 0, 10);
        cas(1, "k", "x", "b", "true", 20, 30);

        assertNotLinearizable("k");
    }

    @Test
    void casThatRefusedWhenValueMatchedIsNotLinearizable()
    {
        put(0, "k", "a", 0, 10);
        cas(1, "k", "a", "b", "false", 20, 30);

        assertNotLinearizable("k");
    }

    @Test
    void refusedCasChangesNothing()
    {
        put(0, "k", "a", 0, 10);
        cas(1, "k", "x", "b", "false", 20, 30);
        get(2, "k", "b", 40, 50);

        assertNotLinearizable("k");
    }

    @Test
    void casWithAbsentExpectedSwapsOnlyOnAbsentKey()
    {
        cas(0, "k", null, "a", "true", 0, 10);
        cas(1, "k", null, "b", "false", 20, 30);
        get(2, "k", "a", 40, 50);

        assertLinearizable();
    }

    @Test
    void unknownCasSeenByLaterReadIsLinearizable()
    {
        put(0, "k", "a", 0, 10);
        final int cas = history.invoke(1, OpKind.CAS, "k", "b", "a", 20);
        history.unknown(cas);
        get(2, "k", "b", 100, 110);

        assertLinearizable();
    }

    @Test
    void unknownCasCannotSwapFromWrongValue()
    {
        put(0, "k", "a", 0, 10);
        final int cas = history.invoke(1, OpKind.CAS, "k", "b", "x", 20);
        history.unknown(cas);
        get(2, "k", "b", 100, 110);

        assertNotLinearizable("k");
    }

    @Test
    void unknownWriteOfUnreadValueCanMakeCasRefuse()
    {
        put(0, "k", "a", 0, 10);
        unknownPut(1, "k", "z", 20);
        cas(2, "k", "a", "b", "false", 100, 110);

        assertLinearizable();
    }

    @Test
    void unknownDeleteCanUndoAWriteNobodyReads()
    {
        // The only order: PUT b, the unknown DELETE, CAS from absent, GET; the unknown DELETE alone changes nothing.
        cas(0, "k", null, "a", "true", 9, 12);
        put(1, "k", "b", 11, 14);
        unknownDelete(2, "k", 11);
        get(3, "k", "a", 15, 20);

        assertLinearizable();
    }

    @Test
    void explanationNamesTheOpThatCannotBePlacedAndThePrefixBeforeIt()
    {
        put(0, "k", "a", 0, 10);
        get(1, "k", "a", 20, 30);
        put(0, "k", "b", 40, 50);
        final int stale = get(1, "k", "a", 60, 70);

        final String explanation = assertNotLinearizable("k").explanation();

        assertTrue(explanation.contains("Longest linearizable prefix: 3 ops, leaving the value \"b\""), explanation);
        assertTrue(explanation.contains("Could not place #" + stale + " c1 GET(\"k\") -> \"a\" [60, 70] OK"), explanation);
    }

    @Test
    void failedOpsAreIgnored()
    {
        put(0, "k", "a", 0, 10);
        final int failed = history.invoke(1, OpKind.PUT, "k", "b", null, 20);
        history.fail(failed, 30);
        get(2, "k", "a", 40, 50);

        assertLinearizable();
    }

    @Test
    void readOfFailedWriteIsNotLinearizable()
    {
        put(0, "k", "a", 0, 10);
        final int failed = history.invoke(1, OpKind.PUT, "k", "b", null, 20);
        history.fail(failed, 30);
        get(2, "k", "b", 25, 50);

        assertNotLinearizable("k");
    }

    @Test
    void keysAreIndependent()
    {
        put(0, "x", "1", 0, 10);
        get(1, "y", null, 20, 30);
        put(0, "y", "2", 40, 50);
        get(1, "x", "1", 60, 70);

        assertLinearizable();
    }

    @Test
    void violationOnOneKeyIsReportedWithThatKey()
    {
        put(0, "x", "1", 0, 10);
        get(1, "x", "1", 20, 30);
        put(0, "y", "2", 0, 10);
        get(1, "y", null, 20, 30);
        put(0, "z", "3", 0, 10);

        final CheckResult result = assertNotLinearizable("y");
        assertTrue(result.explanation().contains("\"y\""), result.explanation());
    }

    @Test
    void smallBudgetOnHardHistoryIsUndecided()
    {
        hardHistory("k", 25);

        final CheckResult result = LinearizabilityChecker.check(history, 10_000);

        assertEquals(CheckResult.Outcome.UNDECIDED, result.outcome(), result.toString());
        assertEquals("k", result.key());
        assertFalse(result.isLinearizable());
        assertTrue(result.explanation().contains("budget of 10000 steps exhausted"), result.explanation());
    }

    @Test
    void hardHistoryWithinBudgetIsDecided()
    {
        hardHistory("k", 8);

        assertNotLinearizable("k");
        assertTrue(LinearizabilityChecker.check(history, 1000).outcome() == CheckResult.Outcome.UNDECIDED);
    }

    @Test
    void violationOnOneKeyOutranksUndecidedOnAnother()
    {
        hardHistory("hard", 25);
        put(0, "bad", "a", 0, 10);
        get(1, "bad", null, 20, 30);

        final CheckResult result = LinearizabilityChecker.check(history, 10_000);

        assertEquals(CheckResult.Outcome.NOT_LINEARIZABLE, result.outcome(), result.toString());
        assertEquals("bad", result.key());
    }

    @Test
    void budgetMustBePositive()
    {
        assertThrows(IllegalArgumentException.class, () -> LinearizabilityChecker.check(history, 0));
    }

    /**
     * Many fully concurrent writes, each seen by a concurrent read, then a read of a value none wrote: refuting
     * it means trying every subset of the writes.
     */
    private void hardHistory(final String key, final int writers)
    {
        for (int i = 0; i < writers; i++)
        {
            put(i, key, "v" + i, 0, 100);
            get(writers + i, key, "v" + i, 0, 100);
        }
        get(2 * writers, key, "nobody", 200, 210);
    }

    private void assertLinearizable()
    {
        final CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        assertEquals(CheckResult.Outcome.LINEARIZABLE, result.outcome(), result + "\n" + history);
        assertTrue(result.isLinearizable());
        assertNull(result.key());
    }

    private CheckResult assertNotLinearizable(final String key)
    {
        final CheckResult result = LinearizabilityChecker.check(history, BUDGET);
        assertEquals(CheckResult.Outcome.NOT_LINEARIZABLE, result.outcome(), result + "\n" + history);
        assertFalse(result.isLinearizable());
        assertEquals(key, result.key());
        return result;
    }

    private int put(final int client, final String key, final String value, final long invoke, final long complete)
    {
        final int id = history.invoke(client, OpKind.PUT, key, value, null, invoke);
        history.ok(id, null, complete);
        return id;
    }

    private int delete(final int client, final String key, final long invoke, final long complete)
    {
        final int id = history.invoke(client, OpKind.DELETE, key, null, null, invoke);
        history.ok(id, null, complete);
        return id;
    }

    private int get(final int client, final String key, final String read, final long invoke, final long complete)
    {
        final int id = history.invoke(client, OpKind.GET, key, null, null, invoke);
        history.ok(id, read, complete);
        return id;
    }

    private int cas(
        final int client,
        final String key,
        final String expected,
        final String value,
        final String result,
        final long invoke,
        final long complete)
    {
        final int id = history.invoke(client, OpKind.CAS, key, value, expected, invoke);
        history.ok(id, result, complete);
        return id;
    }

    private void unknownPut(final int client, final String key, final String value, final long invoke)
    {
        history.unknown(history.invoke(client, OpKind.PUT, key, value, null, invoke));
    }

    private void unknownDelete(final int client, final String key, final long invoke)
    {
        history.unknown(history.invoke(client, OpKind.DELETE, key, null, null, invoke));
    }
}

package io.ringraft.testkit.history;

import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HistoryTest
{
    private final History history = new History();

    @Test
    void recordsEachOpWithItsOutcome()
    {
        final int put = history.invoke(3, OpKind.PUT, "k", "a", null, 10);
        final int cas = history.invoke(4, OpKind.CAS, "k", "b", null, 12);
        final int get = history.invoke(5, OpKind.GET, "k", null, null, 14);
        final int delete = history.invoke(6, OpKind.DELETE, "j", null, null, 16);
        history.ok(put, null, 20);
        history.ok(cas, "false", 22);
        history.fail(delete, 26);

        assertEquals(4, history.size());
        final List<Operation> ops = history.operations();
        assertEquals(new Operation(put, 3, OpKind.PUT, "k", "a", null, null, 10, 20, Operation.Status.OK), ops.get(put));
        assertEquals(new Operation(cas, 4, OpKind.CAS, "k", "b", null, "false", 12, 22, Operation.Status.OK), ops.get(cas));
        assertEquals(Operation.Status.PENDING, ops.get(get).status());
        assertEquals(Long.MAX_VALUE, ops.get(get).completeTime());
        assertFalse(ops.get(get).isComplete());
        assertEquals(Operation.Status.FAIL, ops.get(delete).status());
        assertEquals(26, ops.get(delete).completeTime());

        history.unknown(get);
        assertEquals(Operation.Status.UNKNOWN, history.operations().get(get).status());
        assertEquals(Operation.Status.PENDING, ops.get(get).status(), "operations() is a snapshot");
    }

    @Test
    void ignoresArgumentsThatTheKindDoesNotUse()
    {
        final int get = history.invoke(0, OpKind.GET, "k", "junk", "junk", 0);
        final int put = history.invoke(0, OpKind.PUT, "k", "a", "junk", 0);
        history.ok(get, "a", 1);
        history.ok(put, "junk", 1);

        final Operation read = history.operations().get(get);
        assertNull(read.value());
        assertNull(read.expected());
        assertEquals("a", read.result());
        assertNull(history.operations().get(put).expected());
        assertNull(history.operations().get(put).result());
    }

    @Test
    void anOpEndsOnlyOnce()
    {
        final int id = history.invoke(0, OpKind.PUT, "k", "a", null, 10);
        history.ok(id, null, 20);

        assertThrows(IllegalStateException.class, () -> history.ok(id, null, 30));
        assertThrows(IllegalStateException.class, () -> history.fail(id, 30));
        assertThrows(IllegalStateException.class, () -> history.unknown(id));
    }

    @Test
    void rejectsCompletionBeforeInvocationUnknownIdsAndBadCasResults()
    {
        final int put = history.invoke(0, OpKind.PUT, "k", "a", null, 10);
        final int cas = history.invoke(0, OpKind.CAS, "k", "b", "a", 10);

        assertThrows(IllegalArgumentException.class, () -> history.ok(put, null, 9));
        assertThrows(IllegalArgumentException.class, () -> history.ok(7, null, 20));
        assertThrows(IllegalArgumentException.class, () -> history.ok(cas, "yes", 20));
        assertThrows(NullPointerException.class, () -> history.invoke(0, OpKind.GET, null, null, null, 0));
    }

    @Test
    void describesOneKeyInTimeOrder()
    {
        final int late = history.invoke(1, OpKind.GET, "k", null, null, 50);
        final int other = history.invoke(2, OpKind.PUT, "other", "x", null, 5);
        final int early = history.invoke(0, OpKind.CAS, "k", "b", null, 10);
        history.ok(late, null, 60);
        history.ok(other, null, 6);
        history.ok(early, "true", 20);

        final String description = history.describe("k");

        assertEquals("key \"k\": 2 ops\n" +
            "  #2 c0 CAS(\"k\", absent -> \"b\") -> true [10, 20] OK\n" +
            "  #0 c1 GET(\"k\") -> absent [50, 60] OK", description);
        assertTrue(history.toString().contains("#1 c2 PUT(\"other\", \"x\") [5, 6] OK"), history.toString());
    }
}

package io.ringraft.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PendingWritesTest
{
    private static final io.ringraft.WriteHandler HANDLER = (c, s, i, l, r, o, n) -> { };

    @Test
    void answersByIndexSkippingGapsAndGrowsPastItsCapacity()
    {
        final PendingWrites pending = new PendingWrites();
        for (long i = 10; i < 5_000; i += 2)
        {
            pending.add(i, 1, i * 10, HANDLER, i, 16);
        }
        assertEquals(2_495, pending.size());
        assertEquals(2_495L * 16, pending.bytes(), "the payload bytes the pending writes hold (after growing)");
        assertNull(pending.remove(11), "a gap holds nothing");
        assertEquals(120, pending.remove(12).correlationId);
        assertEquals(2_494L * 16, pending.bytes(), "an answered write's bytes are given back");
        assertNull(pending.remove(12), "answered once");
        assertEquals(10, pending.pollExpired(10).index, "the oldest expires first");
        assertNull(pending.pollExpired(10));
        assertEquals(14, pending.pollExpired(100).index);
        assertEquals(4_000, pending.removeFrom(4_000).index);
        assertEquals(4_002, pending.removeFrom(4_000).index);
        int truncated = 0;
        while (pending.removeFrom(4_000) != null)
        {
            truncated++;
        }
        assertEquals(498, truncated, "4004..4998");
        pending.add(4_000, 2, 1, HANDLER, 0, 16);
        assertEquals(16, pending.pollUpTo(20).index);
        int left = 0;
        while (pending.removeAny() != null)
        {
            left++;
        }
        assertEquals(2_495 - 1 - 2 - 2 - 498 + 1 - 1, left);
        assertEquals(0, pending.size());
        assertThrows(IllegalStateException.class, () ->
        {
            pending.add(5, 1, 1, HANDLER, 0, 16);
            pending.add(4, 1, 1, HANDLER, 0, 16);
        });
    }

    @Test
    void aNewLeadershipMayReuseIndexesThatWereTruncated()
    {
        final PendingWrites pending = new PendingWrites();
        for (long i = 15; i <= 18; i++)
        {
            pending.add(i, 4, i, HANDLER, 0, 16);
        }
        while (pending.removeFrom(15) != null)
        {
            assertTrue(pending.size() >= 0);
        }
        assertEquals(0, pending.size());
        pending.add(17, 6, 1, HANDLER, 0, 16);
        assertEquals(6, pending.remove(17).term);
    }
}

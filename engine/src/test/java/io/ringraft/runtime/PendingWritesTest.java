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

    @Test
    void aSlotThatKeepsAnEarlierHandlerHandsOutTheHandlerOfItsCurrentWrite()
    {
        final io.ringraft.WriteHandler other = (c, s, i, l, r, o, n) -> { };
        final PendingWrites pending = new PendingWrites();
        pending.add(1, 1, 10, HANDLER, 0, 16);
        assertEquals(HANDLER, pending.remove(1).handler);
        // Index 1 + 1024 lands in the slot index 1 left (its handler still there): the new write's handler is handed out.
        pending.add(1 + 1024, 1, 11, other, 0, 16);
        assertNull(pending.remove(1), "the earlier write is gone even though its handler stayed in the slot");
        final PendingWrites.Pending p = pending.remove(1 + 1024);
        assertEquals(other, p.handler);
        assertEquals(11, p.correlationId);
        pending.add(2 + 1024, 1, 12, HANDLER, 0, 16);
        assertEquals(HANDLER, pending.removeAny().handler, "the view's handler changes back");
        assertNull(pending.removeAny());
        assertNull(pending.removeFrom(0), "no write present, whatever the slots hold");
    }
}

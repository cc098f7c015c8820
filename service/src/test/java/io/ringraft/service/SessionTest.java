package io.ringraft.service;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A session's bounded response cache and the timer queue's order. */
class SessionTest
{
    @Test
    void cachedResponsesAreBoundedAndForgottenBelowTheFloor()
    {
        final Session s = new Session(1, "h:1", 0, 0, 8, 64);
        final UnsafeBuffer r = new UnsafeBuffer(new byte[40]);
        for (int seq = 1; seq <= 5; seq++)
        {
            r.putLong(0, seq * 100L);
            s.record(seq, r, 0, 20);
        }
        // 64 bytes hold three 20-byte responses: the two oldest were dropped, their commands still known as applied.
        assertEquals(Session.EVICTED, s.lookup(1));
        assertEquals(Session.EVICTED, s.lookup(2));
        assertEquals(20, s.lookup(5));
        assertEquals(500, s.bytes().getLong(s.foundStart()));
        assertEquals(20, s.lookup(3));
        assertEquals(300, s.bytes().getLong(s.foundStart()));
        assertEquals(Session.ABSENT, s.lookup(6));

        s.advanceFloor(4);
        assertEquals(1, s.count());
        for (int seq = 6; seq <= 12; seq++)
        {
            s.record(seq, r, 0, 0);
        }
        assertTrue(s.full(), "8 commands above the floor: the window is full");
        s.advanceFloor(12);
        assertFalse(s.full());
        assertEquals(0, s.count());
    }

    @Test
    void theCacheSurvivesEncoding()
    {
        final Session s = new Session(1, "h:1", 0, 0, 8, 64);
        final UnsafeBuffer r = new UnsafeBuffer(new byte[100]);
        r.putLong(0, 7);
        s.record(3, r, 0, 8);
        s.record(4, r, 0, 100);
        final UnsafeBuffer out = new UnsafeBuffer(new byte[s.encodedCacheBound()]);
        final int length = s.encodeCache(out, 0);
        final Session copy = new Session(1, "h:1", 0, 0, 8, 64);
        assertEquals(length, copy.decodeCache(out, 0));
        assertEquals(8, copy.lookup(3));
        assertEquals(7, copy.bytes().getLong(copy.foundStart()));
        assertEquals(Session.EVICTED, copy.lookup(4), "a response longer than the cache is not held");
    }

    @Test
    void timersLeaveInDeadlineThenIdOrderAndMovedOrCancelledOnesDoNotFire()
    {
        final TimerQueue q = new TimerQueue(100);
        assertTrue(q.schedule(5, 100));
        assertTrue(q.schedule(3, 100));
        assertTrue(q.schedule(9, 50));
        assertTrue(q.schedule(7, 80));
        assertTrue(q.schedule(7, 200));
        assertTrue(q.cancel(9));
        assertFalse(q.hasDue(99));
        assertTrue(q.hasDue(100));
        assertEquals(3, q.pollEarliest());
        assertEquals(5, q.pollEarliest());
        assertFalse(q.hasDue(199));
        assertEquals(200, q.earliest());
        assertEquals(1, q.size());
        final TimerQueue small = new TimerQueue(1);
        assertTrue(small.schedule(1, 1));
        assertFalse(small.schedule(2, 1), "at the cap");
        assertTrue(small.schedule(1, 5), "moving one is fine");
    }
}

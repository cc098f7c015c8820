package io.ringraft;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YieldThenWaitIdleStrategyTest
{
    /** Records the waits asked for; each wait advances the clock by its {@code lasts} and ends as {@code woken} says. */
    private static final class FakeWaiter implements YieldThenWaitIdleStrategy.Waiter
    {
        final long[] now;
        final List<Long> waits = new ArrayList<>();
        boolean woken;
        long lastsNanos;
        int wakes;
        Runnable during;

        FakeWaiter(final long[] now)
        {
            this.now = now;
        }

        @Override
        public boolean await(final long timeoutMillis)
        {
            waits.add(timeoutMillis);
            if (during != null)
            {
                during.run();
            }
            now[0] += woken ? lastsNanos : timeoutMillis * 1_000_000;
            return woken;
        }

        @Override
        public void wake()
        {
            wakes++;
        }
    }

    private final long[] now = {1_000_000_000L};
    private final FakeWaiter waiter = new FakeWaiter(now);
    private boolean pending;
    // 3 spins, 50 µs of yields, waits of 1 ms, and of 10 ms once idle for 2 ms.
    private final YieldThenWaitIdleStrategy idle = new YieldThenWaitIdleStrategy(3, 50_000, 1, 2_000_000, 10, () -> now[0])
        .bind(waiter, () -> pending);

    /** Idles without work until the first wait: spins, then yields while the clock advances 1 µs per call. */
    private int callsToFirstWait()
    {
        final int before = waiter.waits.size();
        int calls = 0;
        while (waiter.waits.size() == before)
        {
            idle.idle(0);
            calls++;
            now[0] += 1_000;
            assertTrue(calls < 1_000, "never waited");
        }
        return calls;
    }

    @Test
    void spinsThenYieldsForItsTimeThenWaitsShortThenLongOnceIdle()
    {
        // 3 spins, then yields for 50 µs (1 µs per call here), then the first wait.
        final int calls = callsToFirstWait();
        assertTrue(calls >= 3 + 50 && calls <= 3 + 52, "calls before the first wait: " + calls);
        assertEquals(List.of(1L), waiter.waits);
        idle.idle(0); // 1 ms waited, idle for ~1.05 ms: still short
        idle.idle(0); // idle for ~2.05 ms: long from now on
        idle.idle(0);
        assertEquals(List.of(1L, 1L, 10L, 10L), waiter.waits);
        assertEquals(4, idle.waits());
    }

    @Test
    void workAfterATimedOutWaitRunsAFewDutyCyclesThenWaitsAgainWithoutSpinning()
    {
        callsToFirstWait();
        idle.idle(1); // a timer fired after the wait timed out
        for (int i = 0; i < YieldThenWaitIdleStrategy.FLUSH_CYCLES; i++)
        {
            idle.idle(0);
            assertEquals(1, waiter.waits.size(), "flush cycle " + i + " must not wait");
        }
        idle.idle(0);
        assertEquals(2, waiter.waits.size(), "waits again at once, no spins and yields");
    }

    @Test
    void trafficAfterALongWaitIsBriefButAfterAShortOneSpinsAndYieldsFully()
    {
        callsToFirstWait();
        waiter.woken = true;
        waiter.lastsNanos = 5_000_000; // a datagram after 5 ms of waiting: a lone message
        idle.idle(0);
        idle.idle(1);
        waiter.lastsNanos = 30_000; // the next datagram 30 µs into the wait: steady traffic
        final int brief = callsToFirstWait();
        final int briefMax = YieldThenWaitIdleStrategy.POST_WAKE_SPINS + (int)(YieldThenWaitIdleStrategy.POST_WAKE_YIELD_NANOS / 1_000) + 2;
        assertTrue(brief <= briefMax, "brief after a long wait: " + brief + " calls, at most " + briefMax);
        idle.idle(1);
        final int full = callsToFirstWait();
        assertTrue(full >= 3 + 50, "full spins and yields after a short wait: " + full + " calls");
    }

    @Test
    void doesNotWaitWhenInputIsPendingAndWakeReachesTheWaiterOnlyDuringAWait()
    {
        idle.wake();
        assertEquals(0, waiter.wakes, "not waiting: no system call");
        pending = true;
        for (int i = 0; i < 200; i++)
        {
            idle.idle(0);
            now[0] += 1_000;
        }
        assertEquals(0, waiter.waits.size(), "input pending: never waits");
        pending = false;
        waiter.during = idle::wake; // another thread's write arrives during the wait
        callsToFirstWait();
        assertEquals(1, waiter.wakes);
        assertEquals(1, idle.wakes());
    }

    @Test
    void withoutAWaiterItParksForTheWait()
    {
        final YieldThenWaitIdleStrategy unbound = new YieldThenWaitIdleStrategy(0, 0, 1, 2_000_000, 10);
        assertFalse(unbound.isBound());
        final long start = System.nanoTime();
        unbound.idle(0);
        assertTrue(System.nanoTime() - start >= 500_000, "parked about 1 ms");
        assertEquals(0, unbound.waits());
        assertTrue(idle.isBound());
    }

    @Test
    void badSettingsAreNamed()
    {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenWaitIdleStrategy(-1, 0, 1, 0, 1))
            .getMessage().contains("maxSpins=-1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenWaitIdleStrategy(0, -1, 1, 0, 1))
            .getMessage().contains("yieldNanos=-1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenWaitIdleStrategy(0, 0, 0, 0, 1))
            .getMessage().contains("shortWaitMillis=0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenWaitIdleStrategy(0, 0, 1, -1, 1))
            .getMessage().contains("longIdleNanos=-1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenWaitIdleStrategy(0, 0, 5, 0, 4))
            .getMessage().contains("longWaitMillis=4"));
        assertThrows(IllegalArgumentException.class, () -> new YieldThenWaitIdleStrategy().bind(null, () -> false));
    }
}

package io.ringraft;

import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class YieldThenParkIdleStrategyTest
{
    @Test
    void spinsThenYieldsForItsTimeThenParksDoublingToItsMaximum()
    {
        final long[] now = {1_000_000};
        final YieldThenParkIdleStrategy idle = new YieldThenParkIdleStrategy(5, 20_000, 1_000, 8_000, () -> now[0]);
        for (int i = 0; i < 5; i++)
        {
            idle.idle(0);
            assertFalse(idle.isParking(), "spinning");
        }
        // Yields until the yield time has passed, however many calls that takes.
        for (int i = 0; i < 1_000; i++)
        {
            idle.idle(0);
            assertFalse(idle.isParking(), "within the yield time after " + i + " yields");
        }
        now[0] += 19_999;
        idle.idle(0);
        assertFalse(idle.isParking());
        assertEquals(1_000, idle.nextParkNanos(), "no park yet");
        now[0] += 1;
        assertTrue(idle.isParking());
        final long[] expected = {2_000, 4_000, 8_000, 8_000};
        for (final long next : expected)
        {
            idle.idle(0);
            assertEquals(next, idle.nextParkNanos());
        }
        // Work starts over from spinning, then a new yield time.
        idle.idle(1);
        assertFalse(idle.isParking());
        assertEquals(1_000, idle.nextParkNanos());
        for (int i = 0; i < 6; i++)
        {
            idle.idle(0);
        }
        now[0] += 19_999;
        assertFalse(idle.isParking());
        idle.idle(0);
        assertEquals(1_000, idle.nextParkNanos(), "yielding, not parking");
    }

    @Test
    void anIdleLoopWakesAtMostAboutOncePerMaximumPark()
    {
        final YieldThenParkIdleStrategy idle = new YieldThenParkIdleStrategy(10, 100_000, 16_000, 1_000_000);
        final long start = System.nanoTime();
        final long end = start + TimeUnit.MILLISECONDS.toNanos(200);
        long wakesAfterYielding = 0;
        while (System.nanoTime() < end)
        {
            idle.idle(0);
            if (idle.isParking())
            {
                wakesAfterYielding++;
            }
        }
        // 200 ms at one wake per ms at most, plus the doubling from 16 µs: never a busy loop (which makes millions).
        assertTrue(wakesAfterYielding <= 200 + 8, "woke " + wakesAfterYielding + " times in 200 ms");
    }

    @Test
    void refusesBadSettingsNamingThem()
    {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenParkIdleStrategy(-1, 0, 1, 1))
            .getMessage().contains("maxSpins=-1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenParkIdleStrategy(0, -1, 1, 1))
            .getMessage().contains("yieldNanos=-1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenParkIdleStrategy(0, 0, 0, 1))
            .getMessage().contains("minParkNanos=0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new YieldThenParkIdleStrategy(0, 0, 10, 5))
            .getMessage().contains("maxParkNanos=5"));
    }
}

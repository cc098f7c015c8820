package io.ringraft;

import org.agrona.concurrent.NanoClock;

/**
 * The first two phases of ringraft's idle strategies: after work, spin {@code maxSpins} times, then yield until
 * {@code yieldNanos} have passed without work (measured, since a yield lasts anywhere from nothing to a scheduler
 * slice). What follows (a park, a wait on the sockets) is the strategy's. Not thread-safe.
 */
final class SpinThenYield
{
    private final int maxSpins;
    private final long yieldNanos;
    private final NanoClock clock;
    private int spins;
    private boolean yielding;
    private long idleSince;
    private long windowNanos;

    /**
     * @throws IllegalArgumentException naming the bad setting
     */
    SpinThenYield(final int maxSpins, final long yieldNanos, final NanoClock clock)
    {
        if (maxSpins < 0)
        {
            throw new IllegalArgumentException("maxSpins=" + maxSpins + " must be at least 0");
        }
        if (yieldNanos < 0)
        {
            throw new IllegalArgumentException("yieldNanos=" + yieldNanos + " must be at least 0");
        }
        this.maxSpins = maxSpins;
        this.yieldNanos = yieldNanos;
        this.clock = clock;
        this.windowNanos = yieldNanos;
    }

    /**
     * One idle call: a spin or a yield while the phase lasts.
     *
     * @return true if it spun or yielded, false once the yield time has passed (the caller's phase from now on)
     */
    boolean idle()
    {
        if (spins < maxSpins)
        {
            spins++;
            Thread.onSpinWait();
            return true;
        }
        final long now = clock.nanoTime();
        if (!yielding)
        {
            yielding = true;
            idleSince = now;
        }
        if (now - idleSince < windowNanos)
        {
            Thread.yield();
            return true;
        }
        return false;
    }

    /** After work: spins and yields in full again. */
    void reset()
    {
        spins = 0;
        yielding = false;
        windowNanos = yieldNanos;
    }

    /**
     * After work that is likely alone: spins and yields only briefly.
     *
     * @param spinsLeft   spins at most
     * @param yieldWindow yield time at most, in ns
     */
    void brief(final int spinsLeft, final long yieldWindow)
    {
        reset();
        spins = Math.max(0, maxSpins - spinsLeft);
        windowNanos = Math.min(yieldNanos, yieldWindow);
    }

    /** @return true once it yielded for its whole window and {@link #idle()} returns false */
    boolean isOver()
    {
        return yielding && clock.nanoTime() - idleSince >= windowNanos;
    }

    /** @return when it began yielding (the idle time's start); meaningful once {@link #isOver()} */
    long idleSince()
    {
        return idleSince;
    }

    @Override
    public String toString()
    {
        return "maxSpins=" + maxSpins + ", yieldNanos=" + yieldNanos;
    }
}

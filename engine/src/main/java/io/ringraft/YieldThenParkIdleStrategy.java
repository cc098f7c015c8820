package io.ringraft;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import java.util.concurrent.locks.LockSupport;

/**
 * The idle strategy for a duty cycle on a machine with fewer cores than busy threads: after work it spins a
 * few times, then yields the CPU until {@code yieldNanos} have passed without work, then parks, from
 * {@code minParkNanos} doubling up to {@code maxParkNanos}.
 * <p>
 * Why: in a cluster the next piece of work (a follower's response, a client's next command) usually comes
 * within a network round trip, tens of microseconds. A thread that yields meanwhile takes it at once, yet
 * leaves its core to any thread that has work; a thread that parks takes it only when the park ends, and a
 * park of even one microsecond lasts the kernel's timer slack (about 50 µs on Linux), once per hop. Agrona's
 * {@link org.agrona.concurrent.BackoffIdleStrategy} counts yields, which on a busy machine last anywhere from
 * nothing to a scheduler slice; this one measures the time. Past the yield time the node is idle: it wakes
 * at most every {@code maxParkNanos}, which bounds both its idle CPU and how late it sees the first message.
 * <p>
 * Not thread-safe: one instance per duty cycle, as every {@link IdleStrategy}.
 */
public final class YieldThenParkIdleStrategy implements IdleStrategy
{
    /** Spins after work before the first yield. */
    public static final int DEFAULT_MAX_SPINS = 20;
    /** Time without work spent yielding before parking: a few round trips of the network. */
    public static final long DEFAULT_YIELD_NANOS = 100_000;
    /** The first park. */
    public static final long DEFAULT_MIN_PARK_NANOS = 16_000;
    /** The longest park: an idle duty cycle wakes at most this often. */
    public static final long DEFAULT_MAX_PARK_NANOS = 1_000_000;

    private final SpinThenYield spinThenYield;
    private final long minParkNanos;
    private final long maxParkNanos;
    private long parkNanos;

    /** With the defaults: 20 spins, 100 µs of yields, parks from 16 µs to 1 ms. */
    public YieldThenParkIdleStrategy()
    {
        this(DEFAULT_MAX_SPINS, DEFAULT_YIELD_NANOS, DEFAULT_MIN_PARK_NANOS, DEFAULT_MAX_PARK_NANOS);
    }

    /**
     * @param maxSpins     spins after work before yielding, at least 0
     * @param yieldNanos   time without work spent yielding before parking, at least 0
     * @param minParkNanos the first park, at least 1
     * @param maxParkNanos the longest park, at least {@code minParkNanos}
     * @throws IllegalArgumentException naming the bad setting
     */
    public YieldThenParkIdleStrategy(final int maxSpins, final long yieldNanos, final long minParkNanos, final long maxParkNanos)
    {
        this(maxSpins, yieldNanos, minParkNanos, maxParkNanos, SystemNanoClock.INSTANCE);
    }

    YieldThenParkIdleStrategy(final int maxSpins, final long yieldNanos, final long minParkNanos, final long maxParkNanos,
        final NanoClock clock)
    {
        this.spinThenYield = new SpinThenYield(maxSpins, yieldNanos, clock);
        if (minParkNanos < 1)
        {
            throw new IllegalArgumentException("minParkNanos=" + minParkNanos + " must be at least 1");
        }
        if (maxParkNanos < minParkNanos)
        {
            throw new IllegalArgumentException("maxParkNanos=" + maxParkNanos + " must be at least minParkNanos=" + minParkNanos);
        }
        this.minParkNanos = minParkNanos;
        this.maxParkNanos = maxParkNanos;
        this.parkNanos = minParkNanos;
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            reset();
        }
        else
        {
            idle();
        }
    }

    @Override
    public void idle()
    {
        if (spinThenYield.idle())
        {
            return;
        }
        LockSupport.parkNanos(parkNanos);
        parkNanos = Math.min(parkNanos << 1, maxParkNanos);
    }

    @Override
    public void reset()
    {
        spinThenYield.reset();
        parkNanos = minParkNanos;
    }

    /** @return true once it has yielded for its yield time and parks on each idle call (for tests) */
    boolean isParking()
    {
        return spinThenYield.isOver();
    }

    /** @return the next park's length in ns */
    long nextParkNanos()
    {
        return parkNanos;
    }

    @Override
    public String alias()
    {
        return "yield-then-park";
    }

    @Override
    public String toString()
    {
        return "YieldThenParkIdleStrategy{" + spinThenYield + ", minParkNanos=" + minParkNanos +
            ", maxParkNanos=" + maxParkNanos + "}";
    }
}

package io.ringraft.transport.aeron;

import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Log lines per reason, the first at once, then at most one per reason every
 * {@link #INTERVAL_NANOS}, each saying how many were not printed since the last. Callers count
 * every event elsewhere whether or not a line is printed, and build a line only when
 * {@link #due} says it will be printed. Not thread-safe: one thread's.
 */
final class RateLimitedLog
{
    /** At most one line per reason per this interval. */
    static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final Consumer<String> log;
    private final long[] lastNanos;
    private final long[] unlogged;
    private final boolean[] logged;

    /**
     * @param log     where lines go
     * @param reasons how many reasons, numbered from 0
     */
    RateLimitedLog(final Consumer<String> log, final int reasons)
    {
        this.log = log;
        this.lastNanos = new long[reasons];
        this.unlogged = new long[reasons];
        this.logged = new boolean[reasons];
    }

    /**
     * @param reason a reason
     * @return true if a line of this reason would be printed now; false counts it as not printed
     */
    boolean due(final int reason)
    {
        if (logged[reason] && System.nanoTime() - lastNanos[reason] < INTERVAL_NANOS)
        {
            unlogged[reason]++;
            return false;
        }
        return true;
    }

    /** Prints a line of a reason {@link #due} allowed. */
    void print(final int reason, final String line)
    {
        log.accept(unlogged[reason] > 0 ? line + " (" + unlogged[reason] + " more like it since the last line)" : line);
        logged[reason] = true;
        lastNanos[reason] = System.nanoTime();
        unlogged[reason] = 0;
    }
}

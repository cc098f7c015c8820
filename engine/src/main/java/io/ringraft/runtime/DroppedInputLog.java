package io.ringraft.runtime;

import io.ringraft.engine.InputDropReason;
import io.ringraft.network.RaftMessage;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The messages from other nodes that the engine dropped as impossible (or, for an introduction, stale): one Agrona counter per
 * {@link InputDropReason} ("ringraft node N input dropped REASON"), and a log line on standard
 * error for the first of each reason and then at most one per reason every
 * {@link #LOG_INTERVAL_NANOS}, saying how many it did not print. A flood of forged frames costs a
 * counter increment each, not a line each. Single writer: the core thread.
 */
final class DroppedInputLog
{
    /** At most one line per reason per this interval. */
    static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static final InputDropReason[] REASONS = InputDropReason.values();

    private final long self;
    private final AtomicCounter[] counters = new AtomicCounter[REASONS.length];
    private final long[] lastLogNanos = new long[REASONS.length];
    private final long[] unlogged = new long[REASONS.length];
    private final boolean[] logged = new boolean[REASONS.length];

    DroppedInputLog(final long self, final RaftCounters raftCounters)
    {
        this.self = self;
        for (final InputDropReason reason : REASONS)
        {
            counters[reason.ordinal()] = raftCounters.newCounter("ringraft node " + self + " input dropped " + reason);
        }
    }

    void onDropped(final InputDropReason reason, final RaftMessage message, final long nowNanos)
    {
        final int i = reason.ordinal();
        counters[i].increment();
        if (logged[i] && nowNanos - lastLogNanos[i] < LOG_INTERVAL_NANOS)
        {
            unlogged[i]++;
            return;
        }
        final String what = reason == InputDropReason.STALE_INTRODUCTION ? " too old to act on (" : " that no correct peer sends (";
        System.err.println("ringraft node " + self + ": dropped a message from node " + message.from() + what +
            reason + "): " + message + (unlogged[i] > 0 ? " (and " + unlogged[i] + " more since the last line)" : ""));
        logged[i] = true;
        lastLogNanos[i] = nowNanos;
        unlogged[i] = 0;
    }

    /** @return how many were dropped, by reason (every reason present); from any thread */
    Map<InputDropReason, Long> snapshot()
    {
        final EnumMap<InputDropReason, Long> counts = new EnumMap<>(InputDropReason.class);
        for (final InputDropReason reason : REASONS)
        {
            counts.put(reason, counters[reason.ordinal()].get());
        }
        return Collections.unmodifiableMap(counts);
    }
}

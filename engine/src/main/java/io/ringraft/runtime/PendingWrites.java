package io.ringraft.runtime;

import io.ringraft.WriteHandler;

import java.util.ArrayDeque;

/**
 * The writes this node accepted into its log and has not answered yet, by log index: a ring
 * indexed by log index (a leader's writes get increasing indexes, with gaps only for its own
 * blank and membership entries), so adding, answering and expiring are O(1) with no hashing.
 * Pooled: nothing is allocated per write in steady state.
 */
final class PendingWrites
{
    static final class Pending
    {
        long index;
        long term;
        long correlationId;
        WriteHandler handler;
        long deadlineNanos;
    }

    private final ArrayDeque<Pending> pool = new ArrayDeque<>();
    private Pending[] ring = new Pending[1024];
    private int mask = ring.length - 1;
    /** No pending write below this index. */
    private long base;
    /** No pending write at or above this index. */
    private long limit;
    private int count;

    /** Adds a write at {@code index}, which must be above every pending one. */
    void add(final long index, final long term, final long correlationId, final WriteHandler handler, final long deadlineNanos)
    {
        if (count == 0)
        {
            base = index; // empty: a new leadership may reuse indexes answered before (truncated)
        }
        else if (index < limit)
        {
            throw new IllegalStateException("pending write at index " + index + " below the highest pending " + (limit - 1));
        }
        while (index - base >= ring.length)
        {
            grow();
        }
        Pending p = pool.pollFirst();
        if (p == null)
        {
            p = new Pending();
        }
        p.index = index;
        p.term = term;
        p.correlationId = correlationId;
        p.handler = handler;
        p.deadlineNanos = deadlineNanos;
        ring[(int)(index & mask)] = p;
        limit = index + 1;
        count++;
    }

    /** @return the pending write at {@code index}, removed, or null; give it back with {@link #release} */
    Pending remove(final long index)
    {
        if (index < base || index >= limit)
        {
            return null;
        }
        return take(index);
    }

    void release(final Pending p)
    {
        p.handler = null;
        pool.addFirst(p);
    }

    /**
     * @param nowNanos the current time
     * @return the oldest pending write whose deadline passed, removed, or null (deadlines grow with the index)
     */
    Pending pollExpired(final long nowNanos)
    {
        if (count == 0)
        {
            return null;
        }
        final Pending oldest = ring[(int)(base & mask)];
        return oldest.deadlineNanos <= nowNanos ? take(base) : null;
    }

    /** @return a pending write at or after {@code fromIndex}, removed, or null */
    Pending removeFrom(final long fromIndex)
    {
        for (long i = Math.max(fromIndex, base); i < limit; i++)
        {
            if (ring[(int)(i & mask)] != null)
            {
                return take(i);
            }
        }
        limit = Math.max(base, Math.min(limit, fromIndex));
        return null;
    }

    /** @return a pending write at or below {@code index}, removed, or null */
    Pending pollUpTo(final long index)
    {
        return count > 0 && base <= index ? take(base) : null;
    }

    /** @return any pending write, removed, or null */
    Pending removeAny()
    {
        return count > 0 ? take(base) : null;
    }

    int size()
    {
        return count;
    }

    private Pending take(final long index)
    {
        final int slot = (int)(index & mask);
        final Pending p = ring[slot];
        if (p == null)
        {
            return null;
        }
        ring[slot] = null;
        count--;
        if (count == 0)
        {
            base = limit;
        }
        else if (index == base)
        {
            while (ring[(int)(base & mask)] == null)
            {
                base++;
            }
        }
        return p;
    }

    private void grow()
    {
        final Pending[] bigger = new Pending[ring.length * 2];
        final int biggerMask = bigger.length - 1;
        for (long i = base; i < limit; i++)
        {
            bigger[(int)(i & biggerMask)] = ring[(int)(i & mask)];
        }
        ring = bigger;
        mask = biggerMask;
    }
}

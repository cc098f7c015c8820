package io.ringraft.runtime;

import io.ringraft.WriteHandler;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayQueue;

import java.util.ArrayDeque;

/**
 * The writes this node accepted into its log and has not answered yet, by log index. Pooled:
 * nothing is allocated per write in steady state.
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

    private final Long2ObjectHashMap<Pending> byIndex = new Long2ObjectHashMap<>();
    private final LongArrayQueue order = new LongArrayQueue(1024, Long.MIN_VALUE);
    private final ArrayDeque<Pending> pool = new ArrayDeque<>();

    void add(final long index, final long term, final long correlationId, final WriteHandler handler, final long deadlineNanos)
    {
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
        byIndex.put(index, p);
        order.addLong(index);
    }

    /** @return the pending write at {@code index}, removed, or null; give it back with {@link #release} */
    Pending remove(final long index)
    {
        return byIndex.remove(index);
    }

    void release(final Pending p)
    {
        p.handler = null;
        pool.addFirst(p);
    }

    /**
     * @param nowNanos the current time
     * @return the oldest pending write whose deadline passed, removed, or null
     */
    Pending pollExpired(final long nowNanos)
    {
        while (!order.isEmpty())
        {
            final long index = order.peekLong();
            final Pending p = byIndex.get(index);
            if (p == null)
            {
                order.pollLong();
                continue;
            }
            if (p.deadlineNanos > nowNanos)
            {
                return null;
            }
            order.pollLong();
            byIndex.remove(index);
            return p;
        }
        return null;
    }

    /** @return any pending write at or after {@code fromIndex}, removed, or null */
    Pending removeFrom(final long fromIndex)
    {
        final Long2ObjectHashMap<Pending>.KeyIterator it = byIndex.keySet().iterator();
        while (it.hasNext())
        {
            final long index = it.nextLong();
            if (index >= fromIndex)
            {
                final Pending p = byIndex.get(index);
                it.remove();
                return p;
            }
        }
        return null;
    }

    /** @return any pending write at or below {@code index}, removed, or null */
    Pending pollUpTo(final long index)
    {
        final Long2ObjectHashMap<Pending>.KeyIterator it = byIndex.keySet().iterator();
        while (it.hasNext())
        {
            final long i = it.nextLong();
            if (i <= index)
            {
                final Pending p = byIndex.get(i);
                it.remove();
                return p;
            }
        }
        return null;
    }

    /** @return any pending write, removed, or null */
    Pending removeAny()
    {
        final Long2ObjectHashMap<Pending>.KeyIterator it = byIndex.keySet().iterator();
        if (!it.hasNext())
        {
            return null;
        }
        final long index = it.nextLong();
        final Pending p = byIndex.get(index);
        it.remove();
        return p;
    }

    int size()
    {
        return byIndex.size();
    }
}

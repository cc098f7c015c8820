package io.ringraft.service;

import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;

/**
 * The replicated timers: id to deadline, and a binary heap ordered by (deadline, id) so that due
 * timers fire in the same order on every replica. Cancelled or moved timers leave stale heap
 * entries that are skipped when they surface (and compacted when they pile up).
 */
final class TimerQueue
{
    private static final long NONE = Long.MIN_VALUE;

    private final Long2LongHashMap deadlines = new Long2LongHashMap(NONE);
    private final int maxTimers;
    private long[] heapDeadline = new long[64];
    private long[] heapId = new long[64];
    private int heapSize;

    TimerQueue(final int maxTimers)
    {
        this.maxTimers = maxTimers;
    }

    boolean schedule(final long id, final long deadline)
    {
        final long previous = deadlines.get(id);
        if (previous == NONE && deadlines.size() >= maxTimers)
        {
            return false;
        }
        if (previous == deadline)
        {
            return true;
        }
        deadlines.put(id, deadline);
        push(deadline, id);
        if (heapSize > 2 * deadlines.size() + 64)
        {
            rebuild();
        }
        return true;
    }

    boolean cancel(final long id)
    {
        return deadlines.remove(id) != NONE;
    }

    int size()
    {
        return deadlines.size();
    }

    /** @return the earliest live deadline, or Long.MAX_VALUE */
    long earliest()
    {
        dropStale();
        return heapSize == 0 ? Long.MAX_VALUE : heapDeadline[0];
    }

    /** @return true if the earliest live timer's deadline is at or before {@code now} */
    boolean hasDue(final long now)
    {
        return earliest() <= now;
    }

    /** Removes and returns the earliest timer's id; call after {@link #hasDue}. */
    long pollEarliest()
    {
        final long id = heapId[0];
        removeTop();
        deadlines.remove(id);
        return id;
    }

    void clear()
    {
        deadlines.clear();
        heapSize = 0;
    }

    /** Copies (id, deadline) pairs into {@code out}, sorted by id. */
    void copyTo(final LongArrayList out)
    {
        final LongArrayList ids = new LongArrayList();
        deadlines.forEach((id, deadline) -> ids.addLong(id));
        final long[] sorted = ids.toLongArray();
        java.util.Arrays.sort(sorted);
        for (final long id : sorted)
        {
            out.addLong(id);
            out.addLong(deadlines.get(id));
        }
    }

    private void dropStale()
    {
        while (heapSize > 0 && deadlines.get(heapId[0]) != heapDeadline[0])
        {
            removeTop();
        }
    }

    private void rebuild()
    {
        heapSize = 0;
        final LongArrayList pairs = new LongArrayList();
        copyTo(pairs);
        for (int i = 0; i < pairs.size(); i += 2)
        {
            push(pairs.getLong(i + 1), pairs.getLong(i));
        }
    }

    private static boolean less(final long d1, final long id1, final long d2, final long id2)
    {
        return d1 < d2 || (d1 == d2 && id1 < id2);
    }

    private void push(final long deadline, final long id)
    {
        if (heapSize == heapId.length)
        {
            heapId = java.util.Arrays.copyOf(heapId, heapSize * 2);
            heapDeadline = java.util.Arrays.copyOf(heapDeadline, heapSize * 2);
        }
        int i = heapSize++;
        while (i > 0)
        {
            final int parent = (i - 1) >>> 1;
            if (!less(deadline, id, heapDeadline[parent], heapId[parent]))
            {
                break;
            }
            heapDeadline[i] = heapDeadline[parent];
            heapId[i] = heapId[parent];
            i = parent;
        }
        heapDeadline[i] = deadline;
        heapId[i] = id;
    }

    private void removeTop()
    {
        final int last = --heapSize;
        if (last == 0)
        {
            return;
        }
        final long d = heapDeadline[last];
        final long id = heapId[last];
        int i = 0;
        while (true)
        {
            final int left = 2 * i + 1;
            if (left >= last)
            {
                break;
            }
            final int right = left + 1;
            final int child = right < last && less(heapDeadline[right], heapId[right], heapDeadline[left], heapId[left]) ? right : left;
            if (!less(heapDeadline[child], heapId[child], d, id))
            {
                break;
            }
            heapDeadline[i] = heapDeadline[child];
            heapId[i] = heapId[child];
            i = child;
        }
        heapDeadline[i] = d;
        heapId[i] = id;
    }
}

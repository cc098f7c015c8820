package io.ringraft.runtime;

import io.ringraft.WriteHandler;

import java.util.Objects;

/**
 * The writes this node accepted into its log and has not answered yet, by log index: a ring
 * indexed by log index (a leader's writes get increasing indexes, with gaps only for its own
 * blank and membership entries), so adding, answering and expiring are O(1) with no hashing.
 * The ring is a structure of arrays (no object per write, no pointer to chase when answering in
 * index order), and a removed write is handed out in one reused {@link Pending} view: nothing is
 * allocated per write.
 * <p>
 * A handler reference is stored only when it differs from the one already in the slot (and the view), and
 * a removed write's stays there: with the usual one handler per client, no reference is written per write,
 * so the GC's write barrier marks no card per write (under G1 that refinement work was ~8 % of a 3-node host's
 * CPU). The price: a handler stays reachable until its slot holds another (at most the ring's capacity).
 */
final class PendingWrites
{
    /** A removed write: valid until the next removal. */
    static final class Pending
    {
        long index;
        long term;
        long correlationId;
        WriteHandler handler;
    }

    private final Pending taken = new Pending();
    private long[] terms = new long[1024];
    private long[] correlationIds = new long[1024];
    private long[] deadlines = new long[1024];
    private WriteHandler[] handlers = new WriteHandler[1024];
    /** Whether a slot holds a pending write (its handler may be a removed write's). */
    private boolean[] present = new boolean[1024];
    private int[] lengths = new int[1024];
    private int mask = handlers.length - 1;
    /** No pending write below this index. */
    private long base;
    /** No pending write at or above this index. */
    private long limit;
    private int count;
    private long bytes;

    /** Adds a write of {@code length} payload bytes at {@code index}, which must be above every pending one. */
    void add(final long index, final long term, final long correlationId, final WriteHandler handler, final long deadlineNanos,
        final int length)
    {
        Objects.requireNonNull(handler, "handler");
        if (count == 0)
        {
            base = index; // empty: a new leadership may reuse indexes answered before (truncated)
        }
        else if (index < limit)
        {
            throw new IllegalStateException("pending write at index " + index + " below the highest pending " + (limit - 1));
        }
        while (index - base >= handlers.length)
        {
            grow();
        }
        final int slot = (int)(index & mask);
        terms[slot] = term;
        correlationIds[slot] = correlationId;
        deadlines[slot] = deadlineNanos;
        if (handlers[slot] != handler)
        {
            handlers[slot] = handler;
        }
        present[slot] = true;
        lengths[slot] = length;
        limit = index + 1;
        count++;
        bytes += length;
    }

    /** @return the pending write at {@code index}, removed, or null; valid until the next removal */
    Pending remove(final long index)
    {
        if (index < base || index >= limit)
        {
            return null;
        }
        return take(index);
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
        return deadlines[(int)(base & mask)] <= nowNanos ? take(base) : null;
    }

    /** @return a pending write at or after {@code fromIndex}, removed, or null */
    Pending removeFrom(final long fromIndex)
    {
        for (long i = Math.max(fromIndex, base); i < limit; i++)
        {
            if (present[(int)(i & mask)])
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

    /** @return the payload bytes of the pending writes */
    long bytes()
    {
        return bytes;
    }

    private Pending take(final long index)
    {
        final int slot = (int)(index & mask);
        if (!present[slot])
        {
            return null;
        }
        final WriteHandler handler = handlers[slot];
        taken.index = index;
        taken.term = terms[slot];
        taken.correlationId = correlationIds[slot];
        if (taken.handler != handler)
        {
            taken.handler = handler;
        }
        present[slot] = false;
        bytes -= lengths[slot];
        count--;
        if (count == 0)
        {
            base = limit;
        }
        else if (index == base)
        {
            while (!present[(int)(base & mask)])
            {
                base++;
            }
        }
        return taken;
    }

    private void grow()
    {
        final int capacity = handlers.length * 2;
        final int biggerMask = capacity - 1;
        final long[] newTerms = new long[capacity];
        final long[] newCorrelationIds = new long[capacity];
        final long[] newDeadlines = new long[capacity];
        final WriteHandler[] newHandlers = new WriteHandler[capacity];
        final boolean[] newPresent = new boolean[capacity];
        final int[] newLengths = new int[capacity];
        for (long i = base; i < limit; i++)
        {
            final int from = (int)(i & mask);
            final int to = (int)(i & biggerMask);
            newTerms[to] = terms[from];
            newCorrelationIds[to] = correlationIds[from];
            newDeadlines[to] = deadlines[from];
            newHandlers[to] = handlers[from];
            newPresent[to] = present[from];
            newLengths[to] = lengths[from];
        }
        terms = newTerms;
        correlationIds = newCorrelationIds;
        deadlines = newDeadlines;
        handlers = newHandlers;
        present = newPresent;
        lengths = newLengths;
        mask = biggerMask;
    }
}

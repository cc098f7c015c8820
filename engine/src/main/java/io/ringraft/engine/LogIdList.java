package io.ringraft.engine;

import io.ringraft.LogId;

import java.util.Arrays;

/**
 * The shape of the local log without its payloads: the first index of every term present, the
 * last purged id and the last id. Answers "which term is the entry at index i" in O(log terms)
 * with no I/O, which is all the protocol needs of the log (as openraft's {@code LogIdList}).
 */
final class LogIdList
{
    private long[] startTerms = new long[16];
    private long[] startIndexes = new long[16];
    private int size;
    private long purgedTerm;
    private long purgedIndex;
    private long lastTerm;
    private long lastIndex;

    LogIdList(final LogId lastPurged)
    {
        purgedTerm = lastPurged.term();
        purgedIndex = lastPurged.index();
        lastTerm = purgedTerm;
        lastIndex = purgedIndex;
    }

    long lastIndex()
    {
        return lastIndex;
    }

    long lastTerm()
    {
        return lastTerm;
    }

    LogId lastLogId()
    {
        return new LogId(lastTerm, lastIndex);
    }

    long purgedIndex()
    {
        return purgedIndex;
    }

    long purgedTerm()
    {
        return purgedTerm;
    }

    /** Records entries {@code [lastIndex + 1, lastIndex + count]} of {@code term}. */
    void append(final long term, final long count)
    {
        if (term < lastTerm)
        {
            throw new IllegalStateException("append of term " + term + " after term " + lastTerm + " at index " + (lastIndex + 1));
        }
        if (count <= 0)
        {
            return;
        }
        if (size == 0 || startTerms[size - 1] != term)
        {
            if (size == startTerms.length)
            {
                startTerms = Arrays.copyOf(startTerms, size * 2);
                startIndexes = Arrays.copyOf(startIndexes, size * 2);
            }
            startTerms[size] = term;
            startIndexes[size] = lastIndex + 1;
            size++;
        }
        lastTerm = term;
        lastIndex += count;
    }

    /**
     * @return the term of the entry at {@code index}, or -1 if the log does not know it (purged
     *         before the last purged id, or beyond the last entry)
     */
    long termAt(final long index)
    {
        if (index == purgedIndex)
        {
            return purgedTerm;
        }
        if (index < purgedIndex || index > lastIndex)
        {
            return -1;
        }
        final int slot = slotOf(index);
        return startTerms[slot];
    }

    /** @return the first index holding {@code term}, or -1 if no entry has that term */
    long firstIndexOf(final long term)
    {
        for (int i = 0; i < size; i++)
        {
            if (startTerms[i] == term)
            {
                return startIndexes[i];
            }
        }
        return -1;
    }

    /** @return the last index holding {@code term}, or -1 if no entry has that term */
    long lastIndexOf(final long term)
    {
        for (int i = 0; i < size; i++)
        {
            if (startTerms[i] == term)
            {
                return i + 1 < size ? startIndexes[i + 1] - 1 : lastIndex;
            }
        }
        return -1;
    }

    /** Removes every entry from {@code fromIndex} on. */
    void truncate(final long fromIndex)
    {
        if (fromIndex > lastIndex)
        {
            return;
        }
        if (fromIndex <= purgedIndex)
        {
            throw new IllegalStateException("truncate from " + fromIndex + " reaches the purged prefix " + purgedIndex);
        }
        while (size > 0 && startIndexes[size - 1] >= fromIndex)
        {
            size--;
        }
        lastIndex = fromIndex - 1;
        lastTerm = size == 0 ? purgedTerm : startTerms[size - 1];
    }

    /** Forgets the entries up to {@code upTo} (inclusive); the log may end before it (then it is empty from there). */
    void purge(final LogId upTo)
    {
        if (upTo.index() <= purgedIndex)
        {
            return;
        }
        if (upTo.index() >= lastIndex)
        {
            size = 0;
            lastIndex = upTo.index();
            lastTerm = upTo.term();
        }
        else
        {
            final long nextTerm = termAt(upTo.index() + 1);
            int keepFrom = 0;
            while (keepFrom < size && startIndexes[keepFrom] <= upTo.index() + 1)
            {
                keepFrom++;
            }
            final int kept = size - keepFrom;
            System.arraycopy(startTerms, keepFrom, startTerms, 1, kept);
            System.arraycopy(startIndexes, keepFrom, startIndexes, 1, kept);
            startTerms[0] = nextTerm;
            startIndexes[0] = upTo.index() + 1;
            size = kept + 1;
        }
        purgedIndex = upTo.index();
        purgedTerm = upTo.term();
    }

    private int slotOf(final long index)
    {
        int lo = 0;
        int hi = size - 1;
        while (lo < hi)
        {
            final int mid = (lo + hi + 1) >>> 1;
            if (startIndexes[mid] <= index)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return lo;
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("LogIds{purged=").append(purgedTerm).append('-').append(purgedIndex).append(" starts=[");
        for (int i = 0; i < size; i++)
        {
            sb.append(i == 0 ? "" : ", ").append(startTerms[i]).append('-').append(startIndexes[i]);
        }
        return sb.append("] last=").append(lastTerm).append('-').append(lastIndex).append('}').toString();
    }
}

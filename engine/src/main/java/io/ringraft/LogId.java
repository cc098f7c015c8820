package io.ringraft;

/**
 * The identity of a log entry: the term it was created in and its position in the log.
 * Two logs that hold entries with equal {@code LogId}s hold the same entry and the same prefix
 * before it (the Log Matching property of Raft, §5.3).
 *
 * @param term  the leader term that created the entry, {@code >= 0}
 * @param index the position of the entry in the log, {@code >= 0}; index 0 is the empty log
 */
public record LogId(long term, long index) implements Comparable<LogId>
{
    /** The id before the first entry: an empty log's last log id. */
    public static final LogId ZERO = new LogId(0, 0);

    public LogId
    {
        if (term < 0 || index < 0)
        {
            throw new IllegalArgumentException("LogId term and index must be >= 0: term=" + term + " index=" + index);
        }
    }

    /**
     * Orders log ids as Raft's "at least as up-to-date" rule does (§5.4.1): by term, then index.
     */
    @Override
    public int compareTo(final LogId other)
    {
        final int byTerm = Long.compare(term, other.term);
        return byTerm != 0 ? byTerm : Long.compare(index, other.index);
    }

    @Override
    public String toString()
    {
        return term + "-" + index;
    }
}

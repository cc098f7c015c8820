package io.ringraft.network;

import java.util.Objects;

/**
 * The answer to an {@link AppendEntriesRequest}.
 * <p>
 * On success, {@code matchIndex} is the last index the follower now holds identical to the
 * leader's log and has made durable. On a mismatch, {@code conflictTerm} and
 * {@code conflictIndex} are the fast back-off hint of Raft §5.3 (the paragraph "If desired, the
 * protocol can be optimized"): the follower's term at the mismatching index and the first index
 * it holds of that term; when the follower's log is too short, {@code conflictTerm} is 0 and
 * {@code conflictIndex} is its last index + 1.
 * <p>
 * The engine and the transports reuse instances: one handed over is valid only during the call
 * that delivers it; keep {@link #copy()}.
 */
public final class AppendEntriesResponse implements RaftMessage
{
    private long from;
    private long to;
    private long term;
    private boolean success;
    private long matchIndex;
    private long conflictTerm;
    private long conflictIndex;
    private long seq;

    /** Makes an empty response, to be filled with {@link #set}. */
    public AppendEntriesResponse()
    {
    }

    /**
     * @param from          the follower
     * @param to            the leader
     * @param term          the follower's term
     * @param success       whether the consistency check passed
     * @param matchIndex    the last matching durable index on success
     * @param conflictTerm  on a mismatch: the follower's term at the leader's prevLogIndex, or 0
     * @param conflictIndex on a mismatch: where the leader should look next
     * @param seq           the request's broadcast round
     */
    public AppendEntriesResponse(final long from, final long to, final long term, final boolean success, final long matchIndex,
        final long conflictTerm, final long conflictIndex, final long seq)
    {
        set(from, to, term, success, matchIndex, conflictTerm, conflictIndex, seq);
    }

    /**
     * Sets every field; the arguments are those of the constructor.
     *
     * @return this
     */
    public AppendEntriesResponse set(final long from, final long to, final long term, final boolean success, final long matchIndex,
        final long conflictTerm, final long conflictIndex, final long seq)
    {
        this.from = from;
        this.to = to;
        this.term = term;
        this.success = success;
        this.matchIndex = matchIndex;
        this.conflictTerm = conflictTerm;
        this.conflictIndex = conflictIndex;
        this.seq = seq;
        return this;
    }

    @Override
    public long from()
    {
        return from;
    }

    @Override
    public long to()
    {
        return to;
    }

    @Override
    public long term()
    {
        return term;
    }

    /** @return whether the consistency check passed */
    public boolean success()
    {
        return success;
    }

    /** @return the last matching durable index on success */
    public long matchIndex()
    {
        return matchIndex;
    }

    /** @return on a mismatch: the follower's term at the leader's prevLogIndex, or 0 */
    public long conflictTerm()
    {
        return conflictTerm;
    }

    /** @return on a mismatch: where the leader should look next */
    public long conflictIndex()
    {
        return conflictIndex;
    }

    /** @return the request's broadcast round */
    public long seq()
    {
        return seq;
    }

    @Override
    public AppendEntriesResponse copy()
    {
        return new AppendEntriesResponse(from, to, term, success, matchIndex, conflictTerm, conflictIndex, seq);
    }

    @Override
    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof AppendEntriesResponse))
        {
            return false;
        }
        final AppendEntriesResponse that = (AppendEntriesResponse)o;
        return from == that.from && to == that.to && term == that.term && success == that.success && matchIndex == that.matchIndex &&
            conflictTerm == that.conflictTerm && conflictIndex == that.conflictIndex && seq == that.seq;
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(from, to, term, success, matchIndex, conflictTerm, conflictIndex, seq);
    }

    @Override
    public String toString()
    {
        return "AppendEntriesResponse[from=" + from + ", to=" + to + ", term=" + term + ", success=" + success + ", matchIndex=" +
            matchIndex + ", conflictTerm=" + conflictTerm + ", conflictIndex=" + conflictIndex + ", seq=" + seq + "]";
    }
}

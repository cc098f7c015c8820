package io.ringraft.network;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.LogId;

import java.util.List;
import java.util.Objects;

/**
 * AppendEntries (Raft §5.3); with no entries it is a heartbeat.
 * <p>
 * The runtime reuses instances (one per sender and per receiver), so a received or handed-over
 * request is valid only during the call that delivers it: keep {@link #copy()}. The constructor
 * makes a request that owns its entries, for tests, the simulator and slow paths.
 */
public final class AppendEntriesRequest implements RaftMessage
{
    private long from;
    private long to;
    private long term;
    private long prevLogTerm;
    private long prevLogIndex;
    private long leaderCommit;
    private long seq;
    private final EntryBatch entries;

    /** Makes an empty request to be filled with {@link #set} and {@link #entries()}{@code .wrap(...)}. */
    public AppendEntriesRequest()
    {
        entries = new EntryBatch();
    }

    /**
     * @param from         the leader
     * @param to           the follower
     * @param term         the leader's term
     * @param prevLogId    the entry just before {@code entries}, which the follower must hold
     * @param leaderCommit the leader's commit index
     * @param seq          the leader's broadcast round, echoed in the response; ReadIndex and
     *                     check-quorum use it to tell fresh acknowledgements from old ones
     * @param entries      the entries to append, contiguous after {@code prevLogId} (copied)
     */
    public AppendEntriesRequest(final long from, final long to, final long term, final LogId prevLogId, final long leaderCommit,
        final long seq, final List<Entry> entries)
    {
        this.entries = EntryBatch.of(entries);
        set(from, to, term, prevLogId.term(), prevLogId.index(), leaderCommit, seq);
    }

    private AppendEntriesRequest(final AppendEntriesRequest source)
    {
        entries = source.entries.copy();
        set(source.from, source.to, source.term, source.prevLogTerm, source.prevLogIndex, source.leaderCommit, source.seq);
    }

    /**
     * Sets every field but the entries, which {@link #entries()} points at.
     *
     * @return this
     */
    public AppendEntriesRequest set(final long from, final long to, final long term, final long prevLogTerm, final long prevLogIndex,
        final long leaderCommit, final long seq)
    {
        this.from = from;
        this.to = to;
        this.term = term;
        this.prevLogTerm = prevLogTerm;
        this.prevLogIndex = prevLogIndex;
        this.leaderCommit = leaderCommit;
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

    /** @return the term of the entry just before the entries */
    public long prevLogTerm()
    {
        return prevLogTerm;
    }

    /** @return the index of the entry just before the entries */
    public long prevLogIndex()
    {
        return prevLogIndex;
    }

    /** @return (prevLogTerm, prevLogIndex) as a new {@link LogId} */
    public LogId prevLogId()
    {
        return new LogId(prevLogTerm, prevLogIndex);
    }

    /** @return the leader's commit index */
    public long leaderCommit()
    {
        return leaderCommit;
    }

    /** @return the leader's broadcast round */
    public long seq()
    {
        return seq;
    }

    /** @return the entries, contiguous after the previous entry; a view, valid as long as this request is */
    public EntryBatch entries()
    {
        return entries;
    }

    /** @return the index of the last entry carried, or {@code prevLogIndex()} for a heartbeat */
    public long lastIndex()
    {
        return prevLogIndex + entries.size();
    }

    @Override
    public AppendEntriesRequest copy()
    {
        return new AppendEntriesRequest(this);
    }

    @Override
    public boolean equals(final Object o)
    {
        if (this == o)
        {
            return true;
        }
        if (!(o instanceof AppendEntriesRequest))
        {
            return false;
        }
        final AppendEntriesRequest that = (AppendEntriesRequest)o;
        return from == that.from && to == that.to && term == that.term && prevLogTerm == that.prevLogTerm &&
            prevLogIndex == that.prevLogIndex && leaderCommit == that.leaderCommit && seq == that.seq && entries.equals(that.entries);
    }

    @Override
    public int hashCode()
    {
        return Objects.hash(from, to, term, prevLogIndex, seq, entries.size());
    }

    @Override
    public String toString()
    {
        return "AppendEntriesRequest[from=" + from + ", to=" + to + ", term=" + term + ", prevLogId=" + prevLogTerm + "-" +
            prevLogIndex + ", leaderCommit=" + leaderCommit + ", seq=" + seq + ", entries=" + entries + "]";
    }
}
